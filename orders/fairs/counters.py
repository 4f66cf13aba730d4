"""Supermarket poverty-relief counters (专区专柜): a retailer registers its stores, a
vendor places goods at a store's counter (a stock transfer from its warehouse), and the
retailer or the vendor reports the counter's sales for a day or a week. A report is a
``counter`` sale of the ledger (the store as buyer) made through the paid-sale core,
its units leaving the counter's stock."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from catalog.models import Product
from marketplace import audit
from marketplace.authz import require
from marketplace.clock import local_today
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.importing import Column, Importer, RowError, integer, parse_rows, text, yuan
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work
from orders.fairs.models import CounterReport, Store
from orders.fairs.stalls import own_product
from orders.ledger import services as ledger
from orders.ledger.models import Channel, OrderLine
from orders.ledger.services import STOCK_ON_HAND, SaleItem
from vendors import stock
from vendors.stock import WAREHOUSE, Place, Ref, store_counter

MAX_REPORT_DAYS = 31
MAX_REPORT_LINES = 200


def counter_place(store: Store) -> Place:
    return store_counter(store.id, store.name)


# ---------------------------------------------------------------- stores


def register_store(
    actor: User, retailer: Organization, name: str, address: str = "", district: str = ""
) -> Store:
    require(actor, "counters.sell", retailer)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写门店名称"), {"name": _("请填写门店名称")})
    with unit_of_work():
        store = Store(
            retailer_id=retailer.id,
            name=name[:200],
            address=(address or "").strip()[:300] or None,
            district=(district or "").strip()[:50] or None,
        )
        db.session.add(store)
        db.session.flush()
        audit.record(actor, "store.register", store, object_type="stores")
    return store


def retailer_store(retailer: Organization, store_id: int | None) -> Store:
    store = db.session.get(Store, store_id) if store_id else None
    if store is None or store.retailer_id != retailer.id:
        raise NotFound()
    return store


def any_store(store_id: int | None) -> Store:
    store = db.session.get(Store, store_id) if store_id else None
    if store is None:
        raise NotFound()
    return store


def stores(retailer: Organization | None = None) -> list[Store]:
    stmt = select(Store).order_by(Store.name, Store.id)
    if retailer is not None:
        stmt = stmt.where(Store.retailer_id == retailer.id)
    return list(db.session.scalars(stmt.limit(500)))


def vendors_of_store(store: Store) -> list[int]:
    """The vendors whose goods are (or were) at the store's counter."""
    return stock.vendors_at(counter_place(store))


def stores_of_vendor(vendor_id: int) -> list[tuple[Store, dict[int, int]]]:
    """The stores where the vendor has goods at the counter, with its units there."""
    found = []
    for store in stores():
        if vendor_id in vendors_of_store(store):
            found.append((store, stock.holdings(vendor_id, counter_place(store))))
    return found


# ---------------------------------------------------------------- goods at the counter


def place_at_counter(
    actor: User, vendor: Organization, store_id: int, product_id: int, quantity: int
) -> None:
    """The vendor's goods from its warehouse to a store's counter."""
    _move(actor, vendor, store_id, product_id, quantity, to_counter=True)


def take_back_from_counter(
    actor: User, vendor: Organization, store_id: int, product_id: int, quantity: int
) -> None:
    """Goods back from the counter to the vendor's warehouse."""
    _move(actor, vendor, store_id, product_id, quantity, to_counter=False)


def _move(
    actor: User,
    vendor: Organization,
    store_id: int,
    product_id: int,
    quantity: int,
    to_counter: bool,
) -> None:
    require(actor, "stock.manage", vendor)
    with unit_of_work():
        store = any_store(store_id)
        product = own_product(vendor, product_id)
        places = (WAREHOUSE, counter_place(store))
        source, target = places if to_counter else places[::-1]
        stock.transfer(product.id, quantity, source, target, Ref("store", store.id, actor))


# ---------------------------------------------------------------- sales reports


@dataclass(frozen=True)
class ReportLine:
    product_id: int
    quantity: int
    amount: int  # fen, for the whole quantity


def _may_report(actor: User, org: Organization, store: Store, vendor_id: int) -> None:
    """The store's retailer, or the vendor whose goods they are."""
    if org.id == store.retailer_id:
        require(actor, "counters.sell", org)
    elif org.id == vendor_id:
        require(actor, "stock.manage", org)
    else:  # neither the store's retailer nor the goods' vendor
        require(actor, "counters.sell", None)


def report_counter_sales(
    actor: User,
    org: Organization,
    store_id: int,
    vendor_id: int,
    period_start: date,
    period_end: date,
    lines: Sequence[ReportLine],
) -> CounterReport:
    """One vendor's sales at one store's counter for a period (a day up to a month): a
    ``counter`` order, the store's retailer as buyer, each line's unit price being its
    amount over its quantity (exact to the fen), the units leaving the counter's stock.
    One report per store, vendor and period."""
    errors = {}
    if period_end < period_start:
        errors["period_end"] = _("结束日期不能早于开始日期")
    elif (period_end - period_start).days >= MAX_REPORT_DAYS:
        errors["period_end"] = _("一次最多报告 %(n)d 天", n=MAX_REPORT_DAYS)
    elif period_end > local_today():
        errors["period_end"] = _("不能报告未来的销售")
    if not lines:
        errors["lines"] = _("请至少填写一种产品的销售")
    elif len(lines) > MAX_REPORT_LINES:
        errors["lines"] = _("一次最多报告 %(n)d 行", n=MAX_REPORT_LINES)
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    with unit_of_work():
        store = any_store(store_id)
        _may_report(actor, org, store, vendor_id)
        items = []
        for line in lines:
            product = db.session.get(Product, line.product_id)
            if product is None or product.vendor_id != vendor_id:
                raise NotFound()
            if line.quantity <= 0 or line.amount < 0:
                raise ValidationError(_("数量必须大于零"), {"quantity": _("数量必须大于零")})
            if line.amount % line.quantity:
                raise ValidationError(
                    _(
                        "%(name)s：金额须是数量乘以单价（精确到分）",
                        name=product.name,
                    ),
                    {"amount": _("金额须是数量乘以单价（精确到分）")},
                )
            items.append(SaleItem(product, line.quantity, line.amount // line.quantity))
        order = ledger.record_paid_sale(
            Channel.COUNTER,
            items,
            sale_date=period_end,
            buyer_org=store.retailer,
            buyer_name=store.name,
            actor=actor,
            # reported after the fact: the core flags what was certified on the date
            check_sellable=False,
            stock_from=STOCK_ON_HAND,
            place=counter_place(store),
        )
        report = CounterReport(
            store_id=store.id,
            vendor_id=vendor_id,
            period_start=period_start,
            period_end=period_end,
            order_id=order.id,
            reported_by_id=actor.id,
        )
        db.session.add(report)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            raise ValidationError(_("这段时间的销售已经报告过")) from None
        audit.record(actor, "counter.report", report, object_type="counter_reports")
    return report


class CounterSalesFile(Importer):
    """The columns of an uploaded counter sales report (CSV or XLSX)."""

    name = "counter-sales"
    title = "counter sales"
    key = "sku"
    columns = [
        Column("sku", parse=text(100)),
        Column("quantity", parse=integer(1, 10**9)),
        Column("amount", parse=yuan),
    ]


def xlsx_to_csv(data: bytes) -> str:
    """The first sheet of a workbook as CSV text (cells as shown, empty rows dropped)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ValidationError(_("无法读取该 Excel 文件")) from None
    out = io.StringIO()
    writer = csv.writer(out)
    for row in book.worksheets[0].iter_rows(values_only=True):
        cells = ["" if v is None else str(v) for v in row]
        if any(c.strip() for c in cells):
            writer.writerow(cells)
    return out.getvalue()


def lines_from_file(vendor_id: int, filename: str, data: bytes) -> list[ReportLine]:
    """Report lines from an uploaded file with columns ``sku``, ``quantity``, ``amount``
    (yuan); every error listed at once."""
    from marketplace.importing import decode

    if (filename or "").lower().endswith(".xlsx"):
        content = xlsx_to_csv(data)
    else:
        try:
            content = decode(data)
        except Exception:
            raise ValidationError(_("无法识别文件编码")) from None
    rows, errors = parse_rows(CounterSalesFile(), content)
    products = dict(
        db.session.execute(
            select(Product.sku, Product.id).where(
                Product.vendor_id == vendor_id, Product.sku.in_({r["sku"] for r in rows})
            )
        ).all()
    )
    lines = []
    for row in rows:
        if row["sku"] not in products:
            errors.append(RowError(row.number, "sku", _("不是该商户的产品")))
            continue
        lines.append(ReportLine(products[row["sku"]], row["quantity"], row["amount"]))
    if errors:
        raise ValidationError("; ".join(str(e) for e in sorted(errors)[:10]))
    return lines


# ---------------------------------------------------------------- the counter page


@dataclass
class CounterRow:
    vendor: Organization
    product: Product
    on_hand: int
    sold: int  # units reported sold, all time

    @property
    def sell_through(self) -> float | None:
        """Share of the goods placed that have sold (sold / (sold + on hand))."""
        placed = self.sold + self.on_hand
        return None if placed == 0 else self.sold / placed


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def counter_view(store: Store, vendor_id: int | None = None) -> dict:
    """What a counter page shows: goods on hand and sell-through per product, the
    reports (sales by period), and the weeks with goods at the counter but no report."""
    report_stmt = select(CounterReport).where(CounterReport.store_id == store.id)
    if vendor_id is not None:
        report_stmt = report_stmt.where(CounterReport.vendor_id == vendor_id)
    reports = list(
        db.session.scalars(report_stmt.order_by(CounterReport.period_end.desc()).limit(200))
    )
    sold_stmt = (
        select(OrderLine.product_id, func.sum(OrderLine.quantity - OrderLine.refunded_quantity))
        .join(CounterReport, CounterReport.order_id == OrderLine.order_id)
        .where(CounterReport.store_id == store.id)
        .group_by(OrderLine.product_id)
    )
    sold = dict(db.session.execute(sold_stmt).all())
    vendor_ids = set(
        db.session.scalars(
            select(CounterReport.vendor_id).where(CounterReport.store_id == store.id).distinct()
        )
    )
    vendor_ids |= set(stock.vendors_at(counter_place(store)))
    if vendor_id is not None:
        vendor_ids &= {vendor_id}
    rows = []
    for vid in sorted(vendor_ids):
        vendor = db.session.get(Organization, vid)
        on_hand = stock.holdings(vid, counter_place(store))
        product_ids = set(on_hand) | {
            p for p in sold if db.session.get(Product, p).vendor_id == vid
        }
        for pid in sorted(product_ids):
            rows.append(
                CounterRow(
                    vendor, db.session.get(Product, pid), on_hand.get(pid, 0), int(sold.get(pid, 0))
                )
            )
    return {
        "rows": rows,
        "reports": reports,
        "missing": missing_weeks(store, vendor_ids),
    }


def missing_weeks(
    store: Store, vendor_ids, today: date | None = None
) -> list[tuple[Organization, date]]:
    """(vendor, Monday) of each finished week since the vendor's goods first reached
    the counter that no report of the vendor touches (the latest 8 weeks)."""
    today = today or local_today()
    last_monday = week_start(today) - timedelta(days=7)
    found = []
    for vid in sorted(vendor_ids):
        first = stock.first_arrival(vid, counter_place(store))
        if first is None:
            continue
        covered = db.session.execute(
            select(CounterReport.period_start, CounterReport.period_end).where(
                CounterReport.store_id == store.id, CounterReport.vendor_id == vid
            )
        ).all()
        monday = max(week_start(first), last_monday - timedelta(weeks=7))
        vendor = db.session.get(Organization, vid)
        while monday <= last_monday:
            sunday = monday + timedelta(days=6)
            if not any(s <= sunday and e >= monday for s, e in covered):
                found.append((vendor, monday))
            monday += timedelta(days=7)
    return found
