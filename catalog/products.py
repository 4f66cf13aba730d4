"""A vendor's products: the list, the form's data and its checks (price tiers), saving;
and the categories and origin villages the form offers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from marketplace import audit
from marketplace.authz import require
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.models import District, Organization, Town, User, Village
from marketplace.unit_of_work import unit_of_work

from .models import Category, PriceTier, Product, ProductStatus


@dataclass
class ProductData:
    name: str
    category_id: int
    unit: str
    price: int  # fen
    description: str = ""
    specification: str = ""
    origin_village_id: int | None = None
    shelf_life: str = ""
    is_fresh: bool = False
    min_order_qty: int = 1
    status: str = ProductStatus.ACTIVE
    sku: str | None = None
    tiers: Sequence[tuple[int, int]] = ()  # (min_qty, unit price fen)


def validate_tiers(price: int, tiers: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Tiers sorted by quantity; quantities distinct and >= 2; each unit price no higher
    than the retail price or the tier before it (non-increasing)."""
    ordered = sorted(tiers)
    previous_qty, previous_price = 1, price
    for min_qty, unit_price in ordered:
        if min_qty < 2:
            raise ValidationError(
                _("批量价的起订数量必须至少为 2"), {"tiers": _("起订数量至少为 2")}
            )
        if min_qty == previous_qty:
            raise ValidationError(_("批量价的数量不能重复"), {"tiers": _("数量不能重复")})
        if unit_price > previous_price:
            message = _("批量价必须随数量增加而不升高（%(q)d 件起的单价高于上一档）", q=min_qty)
            raise ValidationError(message, {"tiers": message})
        previous_qty, previous_price = min_qty, unit_price
    return ordered


def vendor_products(actor: User, org: Organization, q: str = "", status: str = "") -> Select:
    require(actor, "products.manage", org)
    stmt = select(Product).where(Product.vendor_id == org.id)
    if q:
        stmt = stmt.where(or_(Product.name.contains(q), Product.sku.contains(q)))
    if status in set(ProductStatus):
        stmt = stmt.where(Product.status == status)
    return stmt.order_by(Product.updated_at.desc(), Product.id.desc())


def get_vendor_product(actor: User, org: Organization, product_id: int) -> Product:
    """The vendor's own product, to manage; another vendor's id is ``NotFound`` (404)."""
    require(actor, "products.manage", org)
    return own_product(org, product_id)


def own_product(org: Organization, product_id: int) -> Product:
    """The organization's own product; another's id is ``NotFound`` (404). The caller
    has checked the permission its page needs."""
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.vendor_id == org.id)
    )
    if product is None:
        raise NotFound()
    return product


def _new_sku(org: Organization) -> str:
    prefix = (org.code or f"ORG{org.id}")[:20]
    count = db.session.scalar(select(func.count(Product.id)).where(Product.vendor_id == org.id))
    n = (count or 0) + 1
    while True:
        sku = f"{prefix}-{n:04d}"
        if not db.session.scalar(select(Product.id).where(Product.sku == sku)):
            return sku
        n += 1


def _replace_tiers(product: Product, tiers: list[tuple[int, int]]) -> None:
    """Make ``product.tiers`` equal ``tiers`` in place: a kept quantity keeps its row and
    takes the new price. Assigning a fresh list would flush the new rows before deleting
    the old ones, and a quantity posted back unchanged breaks (product_id, min_qty)."""
    wanted = dict(tiers)
    for tier in list(product.tiers):
        if tier.min_qty in wanted:
            tier.unit_price = wanted.pop(tier.min_qty)
        else:
            product.tiers.remove(tier)
    product.tiers.extend(PriceTier(min_qty=q, unit_price=p) for q, p in wanted.items())
    product.tiers.sort(key=lambda tier: tier.min_qty)


def save_product(
    actor: User, org: Organization, data: ProductData, product_id: int | None = None
) -> Product:
    """Create (``product_id`` None) or edit one of the vendor's own products."""
    require(actor, "products.manage", org)
    if data.price <= 0:
        raise ValidationError(_("零售价必须大于零"), {"price": _("零售价必须大于零")})
    tiers = validate_tiers(data.price, data.tiers)
    if db.session.get(Category, data.category_id) is None:
        raise ValidationError(_("请选择品类"), {"category_id": _("请选择品类")})
    if data.status not in set(ProductStatus):
        raise ValidationError(_("状态无效"))
    with unit_of_work():
        if product_id is None:
            sku = (data.sku or "").strip() or _new_sku(org)
            if db.session.scalar(select(Product.id).where(Product.sku == sku)):
                raise ValidationError(_("SKU 已存在"), {"sku": _("SKU 已存在")})
            product = Product(vendor_id=org.id, sku=sku)
            db.session.add(product)
            action = "product.create"
        else:
            product = get_vendor_product(actor, org, product_id)
            action = "product.update"
        old_price = product.price
        for field in (
            "name",
            "category_id",
            "unit",
            "price",
            "description",
            "specification",
            "origin_village_id",
            "shelf_life",
            "is_fresh",
            "min_order_qty",
            "status",
        ):
            setattr(product, field, getattr(data, field))
        _replace_tiers(product, tiers)
        db.session.flush()
        db.session.refresh(product, ["vendor", "origin_village"])
        product.refresh_search_text()
        changes = (
            {"price": {"old": old_price, "new": product.price}}
            if action.endswith("update") and old_price != product.price
            else None
        )
        audit.record(actor, action, product, org_id=org.id, changes=changes)
    bump("catalog")  # the public list shows it at once
    return product


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


SEED_CATEGORIES = [
    # the "6+3" signature industries first
    ("荔枝", True),
    ("莲雾", True),
    ("鸡", True),
    ("花卉", True),
    ("蜂蜜", True),
    ("虾", True),
    ("南药", True),
    ("热带水果", True),
    ("粮油", False),
    ("蔬菜", False),
    ("茶叶", False),
    ("水产干货", False),
    ("手工艺品", False),
    ("其他", False),
]


def seed_categories() -> int:
    """Create the standard categories that are missing; returns how many were added."""
    with unit_of_work():
        existing = set(db.session.scalars(select(Category.name)))
        added = 0
        for position, (name, signature) in enumerate(SEED_CATEGORIES):
            if name not in existing:
                db.session.add(Category(name=name, signature=signature, position=position))
                added += 1
    return added


def village_options() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every village grouped under "district town", for the origin select."""
    rows = db.session.execute(
        select(District.name, Town.name, Village.id, Village.name)
        .join(Town, Town.district_id == District.id)
        .join(Village, Village.town_id == Town.id)
        .order_by(District.name, Town.name, Village.name)
    ).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for district, town, village_id, village in rows:
        groups.setdefault(f"{district} {town}", []).append((village_id, village))
    return list(groups.items())
