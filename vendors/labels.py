"""Traceability labels (溯源标签): a QR code per product and per stock receipt batch,
printed on an A4 sheet, that opens the product's public page (its certificate, origin
village and the households it helps, as the publication rule allows) and, for a batch,
the batch's receipt date.

The code holds an absolute short link, ``/t/<token>``. Following it adds one to the
label's scan counter with one atomic UPDATE and redirects to the product page; nothing
about the scanner (address, cookie, user, time) is stored.

Batch labels name stock movements, so labels live in vendors/ (only vendors/ may name
the stock tables); the product page reads a batch's receipt date through the
``batch_receipt`` template global that vendors/label_views.py adds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

import segno
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Select, select, update
from sqlalchemy.orm import joinedload

from catalog.models import Certification, Product
from catalog.products import own_product
from catalog.sellability import current_certification, today
from marketplace import audit
from marketplace.authz import require
from marketplace.clock import local_date
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, Town, User, Village
from marketplace.unit_of_work import unit_of_work

from .locations import insert_ignore
from .models import MovementKind, StockMovement, TraceLabel

PER_SHEET = 24  # 3 x 8 labels on an A4 page
MAX_COPIES = 10 * PER_SHEET
TOKEN_BYTES = 9  # 12 URL-safe characters: unguessable, short enough for a small code


@dataclass(frozen=True)
class LabelCard:
    """What one printed label shows."""

    token: str
    url: str  # the absolute short link the QR code holds
    qr: Markup  # inline SVG
    product_name: str
    specification: str
    vendor_name: str
    certificate_no: str | None
    origin: str | None  # the origin village's full name
    received_on: date | None  # a batch's receipt date (local)
    scans: int


@dataclass(frozen=True)
class Sheet:
    card: LabelCard
    copies: int
    batch: bool

    @property
    def pages(self) -> int:
        return -(-self.copies // PER_SHEET)


def scan_url(token: str) -> str:
    return url_for("vendors.label_scan", token=token, _external=True)


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG (sized by the sheet's CSS; no style
    attribute, no script, so the CSP needs nothing more)."""
    code = segno.make(url, error="m")
    return Markup(code.svg_inline(omitsize=True, svgclass="qr", title=url))


def copies_arg(raw: str | None) -> int:
    """The number of labels asked for: one full sheet by default, at most ten sheets."""
    try:
        copies = int(raw) if raw else PER_SHEET
    except ValueError:
        raise ValidationError(_("标签数量应为 1 到 %(n)d 之间的整数。", n=MAX_COPIES)) from None
    if not 1 <= copies <= MAX_COPIES:
        raise ValidationError(_("标签数量应为 1 到 %(n)d 之间的整数。", n=MAX_COPIES))
    return copies


# ---------------------------------------------------------------- creating labels


def _ensure(
    actor: User, org: Organization, vendor_id: int, product_id: int, movement_id: int | None
) -> TraceLabel:
    """The label of a product (``movement_id`` None) or of a batch, created on first
    use and audited. INSERT ... ON CONFLICT DO NOTHING then a select, so two requests
    making the same label at once end with one label (and one audit row)."""
    label = _find(product_id, movement_id)
    if label is not None:
        return label
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with unit_of_work():
        insert_ignore(
            TraceLabel,
            {
                "token": token,
                "vendor_id": vendor_id,
                "product_id": product_id,
                "movement_id": movement_id,
                "scans": 0,
            },
        )
        label = _find(product_id, movement_id)
        if label.token == token:  # this request made it
            audit.record(
                actor,
                "trace_label.create",
                label,
                changes={"product_id": product_id, "movement_id": movement_id},
                org_id=org.id,
            )
    return label


def _certified(product: Product, day: date) -> Certification:
    certification = current_certification(product, day)
    if certification is None:
        raise ValidationError(
            _(
                "只有认定有效的产品才能打印溯源标签：%(name)s 今天不在认定有效期内。",
                name=product.name,
            )
        )
    return certification


def _card(label: TraceLabel, product: Product, certification, received_on=None) -> LabelCard:
    url = scan_url(label.token)
    village = product.origin_village
    return LabelCard(
        token=label.token,
        url=url,
        qr=qr_svg(url),
        product_name=product.name,
        specification=product.specification or "",
        vendor_name=product.vendor.name,
        certificate_no=certification.certificate_no if certification else None,
        origin=village.full_name if village else None,
        received_on=received_on,
        scans=label.scans,
    )


def _product(product_id: int) -> Product:
    product = db.session.scalar(
        select(Product)
        .options(
            joinedload(Product.vendor),
            joinedload(Product.origin_village).joinedload(Village.town).joinedload(Town.district),
        )
        .where(Product.id == product_id)
    )
    if product is None:
        raise NotFound()
    return product


def _find(product_id: int, movement_id: int | None) -> TraceLabel | None:
    where = [TraceLabel.product_id == product_id]
    where.append(
        TraceLabel.movement_id.is_(None)
        if movement_id is None
        else TraceLabel.movement_id == movement_id
    )
    return db.session.scalar(select(TraceLabel).where(*where))


def create_product_label(actor: User, org: Organization, product_id: int) -> TraceLabel:
    """The vendor's own product's label, made on first use (a POST: a GET changes
    nothing). Only a product certified today gets one: the label promises a
    certificate."""
    require(actor, "products.manage", org)
    product = _product(own_product(org, product_id).id)
    _certified(product, today())
    return _ensure(actor, org, org.id, product.id, None)


def create_bureau_label(actor: User, org: Organization, product_id: int) -> TraceLabel:
    """The bureau makes any certified product's label (for a fair, a counter)."""
    require(actor, "certifications.review", org)
    product = _product(product_id)
    _certified(product, today())
    return _ensure(actor, org, product.vendor_id, product.id, None)


def create_batch_label(actor: User, org: Organization, movement_id: int) -> TraceLabel:
    """The label of one of the vendor's receipt batches, made on first use."""
    require(actor, "products.manage", org)
    movement = own_receipt(org, movement_id)
    product = _product(movement.product_id)
    _certified(product, today())
    return _ensure(actor, org, org.id, product.id, movement.id)


def product_sheet(actor: User, org: Organization, product_id: int, copies: int) -> Sheet | None:
    """A sheet of the vendor's own product's label; None before the label is made."""
    require(actor, "products.manage", org)
    product = _product(own_product(org, product_id).id)
    certification = _certified(product, today())
    label = _find(product.id, None)
    if label is None:
        return None
    return Sheet(_card(label, product, certification), copies, batch=False)


def bureau_product_sheet(
    actor: User, org: Organization, product_id: int, copies: int
) -> Sheet | None:
    require(actor, "certifications.review", org)
    product = _product(product_id)
    certification = _certified(product, today())
    label = _find(product.id, None)
    if label is None:
        return None
    return Sheet(_card(label, product, certification), copies, batch=False)


def own_receipt(org: Organization, movement_id: int) -> StockMovement:
    """One of the vendor's receipt movements (a batch); anything else is ``NotFound``."""
    movement = db.session.scalar(
        select(StockMovement).where(
            StockMovement.id == movement_id,
            StockMovement.vendor_id == org.id,
            StockMovement.kind == MovementKind.RECEIPT,
        )
    )
    if movement is None:
        raise NotFound()
    return movement


def batch_sheet(
    actor: User, org: Organization, movement_id: int, copies: int | None
) -> Sheet | None:
    """A sheet of a receipt batch's label (None before it is made); by default one label
    per unit received, up to one full sheet."""
    require(actor, "products.manage", org)
    movement = own_receipt(org, movement_id)
    product = _product(movement.product_id)
    certification = _certified(product, today())
    label = _find(product.id, movement.id)
    if label is None:
        return None
    if copies is None:
        copies = max(1, min(movement.on_hand_delta, PER_SHEET))
    card = _card(label, product, certification, local_date(movement.created_at))
    return Sheet(card, copies, batch=True)


# ---------------------------------------------------------------- the vendor's label pages


def vendor_product_labels(actor: User, org: Organization) -> Select:
    """The vendor's products with their product label's scans (None: never printed)."""
    require(actor, "products.manage", org)
    return (
        select(Product, TraceLabel.scans)
        .outerjoin(
            TraceLabel,
            (TraceLabel.product_id == Product.id) & TraceLabel.movement_id.is_(None),
        )
        .where(Product.vendor_id == org.id)
        .order_by(Product.name, Product.id)
    )


def vendor_batches(actor: User, org: Organization, product_id: int | None = None) -> Select:
    """The vendor's receipt batches, newest first, with their label's scans."""
    require(actor, "products.manage", org)
    stmt = (
        select(StockMovement, Product.name, TraceLabel.scans)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(TraceLabel, TraceLabel.movement_id == StockMovement.id)
        .where(
            StockMovement.vendor_id == org.id,
            StockMovement.kind == MovementKind.RECEIPT,
        )
        .order_by(StockMovement.id.desc())
    )
    if product_id is not None:
        stmt = stmt.where(StockMovement.product_id == product_id)
    return stmt


# ---------------------------------------------------------------- scanning


@dataclass(frozen=True)
class Scanned:
    product_id: int
    batch_token: str | None  # set for a batch label: the product page shows its date


def scan(token: str) -> Scanned:
    """Count one scan of the label ``token`` (one atomic UPDATE, so concurrent scans
    never lose a count) and say where it leads; an unknown token is ``NotFound``."""
    with unit_of_work():
        row = db.session.execute(
            update(TraceLabel)
            .where(TraceLabel.token == token)
            .values(scans=TraceLabel.scans + 1)
            .returning(TraceLabel.product_id, TraceLabel.movement_id)
        ).first()
    if row is None:
        raise NotFound()
    product_id, movement_id = row
    return Scanned(product_id, token if movement_id is not None else None)


def batch_receipt(product_id: int, token: str) -> date | None:
    """The local receipt date of the batch whose label is ``token``, when it is a batch
    of ``product_id``; None otherwise (a product label, another product's, unknown)."""
    if not token or len(token) > TraceLabel.__table__.c.token.type.length:
        return None
    created = db.session.scalar(
        select(StockMovement.created_at)
        .join(TraceLabel, TraceLabel.movement_id == StockMovement.id)
        .where(TraceLabel.token == token, TraceLabel.product_id == product_id)
    )
    return local_date(created) if created else None
