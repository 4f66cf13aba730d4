"""Product photos: verified and stored (see ``files.store_image``), removed with their
files."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import audit
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work

from . import files
from .models import ProductImage
from .products import get_vendor_product

MAX_IMAGES = 10  # photos per product


def add_product_image(actor: User, org: Organization, product_id: int, stream) -> ProductImage:
    """Verify and store an uploaded photo of one of the vendor's own products (see
    ``files.store_image``) and append it to the product's photos."""
    product = get_vendor_product(actor, org, product_id)
    if len(product.images) >= MAX_IMAGES:
        message = _("每个产品最多 %(n)d 张图片", n=MAX_IMAGES)
        raise ValidationError(message, {"file": message})
    stored = files.store_image(stream)
    try:
        with unit_of_work():
            image = ProductImage(
                product_id=product.id,
                filename=stored.filename,
                thumb_filename=stored.thumb_filename,
                width=stored.width,
                height=stored.height,
                position=max((i.position for i in product.images), default=-1) + 1,
            )
            db.session.add(image)
            db.session.flush()
            audit.record(
                actor, "product.image_add", product, org_id=org.id, changes={"image": image.id}
            )
    except BaseException:
        files.remove("images", stored.filename, stored.thumb_filename)
        raise
    bump("catalog")  # the public list shows it at once
    return image


def delete_product_image(actor: User, org: Organization, product_id: int, image_id: int) -> None:
    """Remove a photo of the vendor's own product, and its files once that is committed."""
    with unit_of_work():
        product = get_vendor_product(actor, org, product_id)
        image = db.session.scalar(
            select(ProductImage).where(
                ProductImage.id == image_id, ProductImage.product_id == product.id
            )
        )
        if image is None:
            raise NotFound()
        names = (image.filename, image.thumb_filename)
        db.session.delete(image)
        audit.record(
            actor, "product.image_delete", product, org_id=org.id, changes={"image": image_id}
        )
    files.remove("images", *names)
    bump("catalog")
