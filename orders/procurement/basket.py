"""The buyer's procurement basket: the certified catalogue with bulk prices, lines added
by hand or uploaded as CSV/XLSX (``sku,quantity``, all or nothing), and submitting the
basket as one procurement order per vendor."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import selectinload

from catalog import pricing
from catalog.models import Product
from catalog.sellability import ensure_sellable, sellable_clause, unsellable_reason
from marketplace.authz import require
from marketplace.clock import local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.importing import (
    Column,
    Importer,
    ImportFailed,
    RowError,
    decode,
    integer,
    parse_rows,
)
from marketplace.models import Organization, User, utcnow
from marketplace.unit_of_work import unit_of_work

from . import services as workflow
from .models import BasketItem, ProcurementEvent, ProcurementLine, ProcurementOrder
from .models import ProcurementStatus as S

MAX_QUANTITY = 100_000
MAX_UPLOAD_ROWS = 500
CATALOGUE_LIMIT = 200


def catalogue(q: str = "", limit: int = CATALOGUE_LIMIT) -> list[Product]:
    """Products sellable today (certified, active), with their tiers, by name."""
    stmt = (
        select(Product)
        .where(sellable_clause(local_today()))
        .options(selectinload(Product.tiers), selectinload(Product.vendor))
        .order_by(Product.name, Product.id)
        .limit(limit)
    )
    q = (q or "").strip().lower()[:100]
    if q:
        stmt = stmt.where(or_(Product.search_text.contains(q), Product.sku == q.upper()))
    return list(db.session.scalars(stmt))


@dataclass
class BasketLine:
    item: BasketItem
    product: Product
    quantity: int
    unit_price: int
    problem: str | None = None

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


def _items(actor: User, agency: Organization) -> list[BasketItem]:
    return list(
        db.session.scalars(
            select(BasketItem)
            .where(BasketItem.agency_id == agency.id, BasketItem.user_id == actor.id)
            .order_by(BasketItem.id)
        )
    )


def basket(actor: User, agency: Organization) -> list[BasketLine]:
    """The basket's lines at today's prices for their quantities, each with what stops it
    being ordered (not sellable, below the minimum order quantity), by vendor."""
    today = local_today()
    lines = []
    for item in _items(actor, agency):
        product = item.product
        problem = unsellable_reason(product, today)
        if problem is None:
            try:
                pricing.check_quantity(product, item.quantity, agency=True)
            except ValidationError as exc:
                problem = exc.message
        lines.append(
            BasketLine(
                item, product, item.quantity, pricing.unit_price(product, item.quantity), problem
            )
        )
    return sorted(lines, key=lambda line: (line.product.vendor_id, line.product.id))


def _checked(product: Product | None, quantity: int) -> Product:
    if product is None:
        raise NotFound()
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("数量必须在 1 到 %(n)d 之间", n=MAX_QUANTITY))
    ensure_sellable(product, local_today())
    pricing.check_quantity(product, quantity, agency=True)
    return product


def set_quantity(actor: User, agency: Organization, product_id: int, quantity: int) -> None:
    """Put ``quantity`` of a product in the basket (0 removes it)."""
    require(actor, "procurement.order", agency)
    with unit_of_work():
        item = db.session.scalar(
            select(BasketItem).where(
                BasketItem.agency_id == agency.id,
                BasketItem.user_id == actor.id,
                BasketItem.product_id == product_id,
            )
        )
        if quantity <= 0:
            if item is not None:
                db.session.delete(item)
            return
        _checked(db.session.get(Product, product_id), quantity)
        if item is None:
            db.session.add(
                BasketItem(
                    agency_id=agency.id, user_id=actor.id, product_id=product_id, quantity=quantity
                )
            )
        else:
            item.quantity = quantity


class BasketUpload(Importer):
    """``sku,quantity`` lines for the basket (not a bureau import: checked here only)."""

    name = "procurement-basket"
    title = _l("采购清单")
    key = "sku"
    columns = [
        Column("sku", parse=lambda v: v.strip()[:50]),
        Column("quantity", parse=integer(1, MAX_QUANTITY)),
    ]


def _xlsx_to_csv(data: bytes) -> str:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError(_("无法读取该 Excel 文件")) from None
    out = io.StringIO()
    import csv

    writer = csv.writer(out)
    for count, row in enumerate(book.worksheets[0].iter_rows(values_only=True)):
        if count > MAX_UPLOAD_ROWS + 1:
            break
        writer.writerow(["" if v is None else str(v) for v in row])
    book.close()
    return out.getvalue()


def upload(actor: User, agency: Organization, filename: str, data: bytes) -> int:
    """Add the file's lines to the basket, all or none: ``ImportFailed`` lists every row's
    error (unknown SKU, not sellable, below the minimum order quantity). Returns the count."""
    require(actor, "procurement.order", agency)
    if filename.lower().endswith(".xlsx"):
        text = _xlsx_to_csv(data)
    else:
        try:
            text = decode(data)
        except (UnicodeDecodeError, ValueError):
            raise ValidationError(_("无法识别文件编码")) from None
    importer = BasketUpload(actor)
    rows, errors = parse_rows(importer, text)
    if len(rows) > MAX_UPLOAD_ROWS:
        errors.append(RowError(0, "", _("最多 %(n)d 行", n=MAX_UPLOAD_ROWS)))
    skus = {row["sku"] for row in rows}
    products = {
        p.sku: p for p in db.session.scalars(select(Product).where(Product.sku.in_(list(skus))))
    }
    today = local_today()
    for row in rows:
        product = products.get(row["sku"])
        if product is None:
            errors.append(RowError(row.number, "sku", _("没有这个商品编码")))
            continue
        reason = unsellable_reason(product, today)
        if reason:
            errors.append(RowError(row.number, "sku", reason))
            continue
        try:
            pricing.check_quantity(product, row["quantity"], agency=True)
        except ValidationError as exc:
            errors.append(RowError(row.number, "quantity", exc.message))
    if errors:
        raise ImportFailed(errors)
    with unit_of_work():
        for row in rows:
            product = products[row["sku"]]
            item = db.session.scalar(
                select(BasketItem).where(
                    BasketItem.agency_id == agency.id,
                    BasketItem.user_id == actor.id,
                    BasketItem.product_id == product.id,
                )
            )
            if item is None:
                db.session.add(
                    BasketItem(
                        agency_id=agency.id,
                        user_id=actor.id,
                        product_id=product.id,
                        quantity=row["quantity"],
                    )
                )
            else:
                item.quantity = row["quantity"]
    return len(rows)


@dataclass
class ProcurementDelivery:
    address: str
    contact_name: str
    contact_phone: str
    delivery_days: int
    note: str = ""


def submit_basket(
    actor: User, agency: Organization, delivery: ProcurementDelivery
) -> list[ProcurementOrder]:
    """The basket becomes one procurement order per vendor, each priced now by the pricing
    rule (the lines keep these prices whatever changes later) and submitted for approval.
    A second submission of the same basket (a double click) finds it gone and raises."""
    require(actor, "procurement.order", agency)
    address = workflow.clean_text(delivery.address, _("送货地址"), limit=400)
    contact = workflow.clean_text(delivery.contact_name, _("联系人"), limit=100)
    phone = workflow.clean_text(delivery.contact_phone, _("联系电话"), limit=30)
    note = workflow.clean_text(delivery.note, _("备注"), required=False)
    if delivery.delivery_days not in workflow.DELIVERY_CHOICES:
        raise ValidationError(_("最晚送达期限只能是 7、15 或 30 天"))
    lines = basket(actor, agency)
    if not lines:
        raise ValidationError(_("采购清单是空的"))
    problems = [f"{line.product.name}：{line.problem}" for line in lines if line.problem]
    if problems:
        raise ValidationError("；".join(problems))
    today = local_today()
    orders = []
    with unit_of_work():
        removed = db.session.execute(
            delete(BasketItem).where(BasketItem.id.in_([line.item.id for line in lines]))
        ).rowcount
        if removed != len(lines):
            raise IllegalTransition(_("采购清单已提交"))
        by_vendor: dict[int, list[BasketLine]] = defaultdict(list)
        for line in lines:
            by_vendor[line.product.vendor_id].append(line)
        for vendor_id in sorted(by_vendor):
            order = ProcurementOrder(
                number=workflow.new_number(today),
                agency_id=agency.id,
                vendor_id=vendor_id,
                status=S.DRAFT,
                created_by_id=actor.id,
                address=address,
                contact_name=contact,
                contact_phone=phone,
                delivery_days=delivery.delivery_days,
                deliver_by=today + timedelta(days=delivery.delivery_days),
                note=note or None,
            )
            for line in by_vendor[vendor_id]:
                order.lines.append(
                    ProcurementLine(
                        product_id=line.product.id,
                        sku=line.product.sku,
                        product_name=line.product.name,
                        unit=line.product.unit,
                        unit_price=line.unit_price,
                        quantity=line.quantity,
                        amount=line.amount,
                    )
                )
            order.total = sum(line.amount for line in order.lines)
            order.events.append(
                ProcurementEvent(action="create", to_status=S.DRAFT, actor_id=actor.id, at=utcnow())
            )
            db.session.add(order)
            db.session.flush()
            workflow.submit(actor, agency, order.id)
            orders.append(order)
    return orders
