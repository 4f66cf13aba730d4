"""Settlement use cases: issue a period's statements, mark one paid, read them.

Every amount comes from the ledger (orders, lines, refund lines) and the shop's parts
(each vendor's shipping fee, and the refund that gave it back) in a few SQL
aggregations per period: ``sales`` are the vendor's online lines whose sale date falls
in the period, ``shipping`` the fees of its parts of those orders; refunds (of goods and
of shipping fees) count on the local date they were made, as ``refunds`` when the sale
was of the same period and as ``adjustments`` when it was of an earlier one. A period is issued only
once it has ended, so nothing can later fall into it: over all its statements a vendor is
paid exactly its online sales and shipping fees net of refunds, to the fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit
from marketplace.authz import require
from marketplace.clock import day_end_utc, day_start_utc, local_date, local_today, utcnow
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.unit_of_work import transition, unit_of_work
from orders.ledger.models import (
    PAID_STATUSES,
    Channel,
    Order,
    OrderLine,
    Refund,
    RefundLine,
)
from orders.settlement.models import Statement, StatementStatus
from orders.shop.models import Shipment

MANAGE = "settlement.manage"
VIEW = "settlement.view"


def month_bounds(month: date) -> tuple[date, date]:
    """The first and last day of ``month``'s calendar month."""
    start = month.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def fee_rate_bp() -> int:
    """``SETTLEMENT_FEE_RATE`` (a percent, e.g. ``0.6``) in hundredths of a percent."""
    return int(
        (Decimal(str(current_app.config.get("SETTLEMENT_FEE_RATE", "0"))) * 100).to_integral_value(
            ROUND_HALF_UP
        )
    )


def fee_for(base: int, rate_bp: int) -> int:
    """The platform fee on ``base`` fen, rounded half up to the fen; none on a loss."""
    if base <= 0 or rate_bp <= 0:
        return 0
    return int((Decimal(base) * rate_bp / 10000).to_integral_value(ROUND_HALF_UP))


@dataclass
class Figures:
    """A vendor's period. ``refunds`` and ``adjustments`` include the shipping fees given
    back (of this period's sales, of earlier ones), also shown on their own."""

    orders: int = 0
    sales: int = 0
    shipping: int = 0
    refunds: int = 0
    adjustments: int = 0
    shipping_refunds: int = 0
    shipping_adjustments: int = 0


def period_figures(start: date, end: date, vendor_id: int | None = None) -> dict[int, Figures]:
    """Each vendor's settlement figures for ``start``..``end`` (inclusive), from the ledger."""
    figures: dict[int, Figures] = {}
    sold = (
        select(
            OrderLine.vendor_id,
            func.count(func.distinct(Order.id)),
            func.coalesce(func.sum(OrderLine.amount), 0),
        )
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            Order.status.in_(PAID_STATUSES),
            Order.sale_date.between(start, end),
        )
        .group_by(OrderLine.vendor_id)
    )
    earlier = Order.sale_date < start
    given_back = (
        select(
            OrderLine.vendor_id,
            func.coalesce(func.sum(RefundLine.amount).filter(~earlier), 0),
            func.coalesce(func.sum(RefundLine.amount).filter(earlier), 0),
        )
        .select_from(RefundLine)
        .join(Refund, Refund.id == RefundLine.refund_id)
        .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            Refund.created_at >= day_start_utc(start),
            Refund.created_at < day_end_utc(end),
        )
        .group_by(OrderLine.vendor_id)
    )
    # shipping fees: charged with the part (on the order's sale date), and given back
    # with the refund that refunded the whole part (on that refund's date), like sales
    charged = (
        select(Shipment.vendor_id, func.coalesce(func.sum(Shipment.shipping_fen), 0))
        .join(Order, Order.id == Shipment.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            Order.status.in_(PAID_STATUSES),
            Order.sale_date.between(start, end),
            Shipment.shipping_fen > 0,
        )
        .group_by(Shipment.vendor_id)
    )
    fees_back = (
        select(
            Shipment.vendor_id,
            func.coalesce(func.sum(Shipment.shipping_fen).filter(~earlier), 0),
            func.coalesce(func.sum(Shipment.shipping_fen).filter(earlier), 0),
        )
        .join(Refund, Refund.id == Shipment.shipping_refund_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            Refund.created_at >= day_start_utc(start),
            Refund.created_at < day_end_utc(end),
        )
        .group_by(Shipment.vendor_id)
    )
    if vendor_id is not None:
        sold = sold.where(OrderLine.vendor_id == vendor_id)
        given_back = given_back.where(OrderLine.vendor_id == vendor_id)
        charged = charged.where(Shipment.vendor_id == vendor_id)
        fees_back = fees_back.where(Shipment.vendor_id == vendor_id)
    for vendor, orders, sales in db.session.execute(sold):
        figures[vendor] = Figures(orders=orders, sales=int(sales))
    for vendor, refunds, adjustments in db.session.execute(given_back):
        row = figures.setdefault(vendor, Figures())
        row.refunds, row.adjustments = int(refunds), int(adjustments)
    for vendor, shipping in db.session.execute(charged):
        figures.setdefault(vendor, Figures()).shipping = int(shipping)
    for vendor, refunds, adjustments in db.session.execute(fees_back):
        row = figures.setdefault(vendor, Figures())
        row.shipping_refunds, row.shipping_adjustments = int(refunds), int(adjustments)
        row.refunds += row.shipping_refunds
        row.adjustments += row.shipping_adjustments
    return figures


def issue_month(actor: User, bureau: Organization, month: date) -> list[Statement]:
    """Issue the statements of ``month`` for every vendor with online sales or refunds in
    it that has none yet; a statement already issued is left as it is (frozen)."""
    require(actor, MANAGE, bureau)
    start, end = month_bounds(month)
    if end >= local_today():
        raise ValidationError(_("只能为已经结束的月份出具结算单。"), {"month": _("该月份尚未结束")})
    rate = fee_rate_bp()
    try:
        with unit_of_work():
            done = set(
                db.session.scalars(
                    select(Statement.vendor_id).where(Statement.period_start == start)
                )
            )
            issued = []
            for vendor_id, f in sorted(period_figures(start, end).items()):
                if vendor_id in done:
                    continue
                fee = fee_for(f.sales + f.shipping - f.refunds - f.adjustments, rate)
                statement = Statement(
                    number=f"JS{start:%Y%m}-{vendor_id:06d}",
                    vendor_id=vendor_id,
                    period_start=start,
                    period_end=end,
                    status=StatementStatus.ISSUED,
                    orders=f.orders,
                    sales=f.sales,
                    shipping=f.shipping,
                    refunds=f.refunds,
                    adjustments=f.adjustments,
                    shipping_refunded=f.shipping_refunds + f.shipping_adjustments,
                    fee_rate_bp=rate,
                    fee=fee,
                    net=f.sales + f.shipping - f.refunds - f.adjustments - fee,
                    issued_by_id=actor.id,
                )
                db.session.add(statement)
                issued.append(statement)
            db.session.flush()
            for statement in issued:
                audit.record(
                    actor,
                    "settlement.issue",
                    statement,
                    org_id=statement.vendor_id,
                    changes={"period": f"{start:%Y-%m}", "net": statement.net},
                )
    except IntegrityError:
        raise IllegalTransition(_("该月结算单正在由他人出具，请刷新后查看。")) from None
    return issued


def mark_paid(
    actor: User, bureau: Organization, statement_id: int, bank_ref: str, paid_on: date | None
) -> Statement:
    """Record that the platform paid a statement (bank reference and date); once."""
    require(actor, MANAGE, bureau)
    bank_ref = (bank_ref or "").strip()
    errors = {}
    if not bank_ref:
        errors["bank_ref"] = _("请填写银行流水号")
    if paid_on is None:
        errors["paid_on"] = _("请填写付款日期")
    elif paid_on > local_today():
        errors["paid_on"] = _("付款日期不能晚于今天")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    with unit_of_work():
        statement = db.session.get(Statement, statement_id)
        if statement is None:
            raise NotFound()
        if not transition(
            statement,
            StatementStatus.ISSUED,
            status=StatementStatus.PAID,
            bank_ref=bank_ref[:100],
            paid_on=paid_on,
            paid_by_id=actor.id,
            paid_at=utcnow(),
        ):
            raise IllegalTransition(_("该结算单已标记为已付款。"))
        audit.record(
            actor,
            "settlement.paid",
            statement,
            org_id=statement.vendor_id,
            changes={"bank_ref": bank_ref, "paid_on": paid_on.isoformat()},
        )
    return statement


# ---------------------------------------------------------------- reading


def vendor_statements(actor: User, vendor: Organization):
    require(actor, VIEW, vendor)
    return (
        select(Statement)
        .where(Statement.vendor_id == vendor.id)
        .order_by(Statement.period_start.desc())
    )


def vendor_statement(actor: User, vendor: Organization, statement_id: int) -> Statement:
    """One of the vendor's own statements; another vendor's is NotFound."""
    require(actor, VIEW, vendor)
    statement = db.session.get(Statement, statement_id)
    if statement is None or statement.vendor_id != vendor.id:
        raise NotFound()
    return statement


def latest_statement(vendor: Organization) -> Statement | None:
    return db.session.scalar(
        select(Statement)
        .where(Statement.vendor_id == vendor.id)
        .order_by(Statement.period_start.desc())
        .limit(1)
    )


def bureau_statements(actor: User, bureau: Organization, month: date | None = None):
    require(actor, MANAGE, bureau)
    stmt = select(Statement).order_by(Statement.period_start.desc(), Statement.vendor_id)
    if month is not None:
        stmt = stmt.where(Statement.period_start == month_bounds(month)[0])
    return stmt


def bureau_statement(actor: User, bureau: Organization, statement_id: int) -> Statement:
    require(actor, MANAGE, bureau)
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound()
    return statement


@dataclass
class DetailRow:
    kind: str  # "sale", "shipping", "refund", "adjustment", "shipping_refund", ...
    day: date
    order_number: str
    amount: int  # fen, positive


def statement_details(statement: Statement) -> list[DetailRow]:
    """The orders and refunds a statement adds up, from the ledger (period-bound rows,
    which later events cannot change: the period has ended)."""
    start, end = statement.period_start, statement.period_end
    rows = [
        DetailRow("sale", day, number, int(amount))
        for number, day, amount in db.session.execute(
            select(Order.number, Order.sale_date, func.sum(OrderLine.amount))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                Order.channel == Channel.ONLINE,
                Order.status.in_(PAID_STATUSES),
                Order.sale_date.between(start, end),
                OrderLine.vendor_id == statement.vendor_id,
            )
            .group_by(Order.id, Order.number, Order.sale_date)
            .order_by(Order.sale_date, Order.number)
        )
    ]
    for number, sale_date, created_at, amount in db.session.execute(
        select(Order.number, Order.sale_date, Refund.created_at, func.sum(RefundLine.amount))
        .select_from(RefundLine)
        .join(Refund, Refund.id == RefundLine.refund_id)
        .join(OrderLine, OrderLine.id == RefundLine.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            OrderLine.vendor_id == statement.vendor_id,
            Refund.created_at >= day_start_utc(start),
            Refund.created_at < day_end_utc(end),
        )
        .group_by(Refund.id, Order.number, Order.sale_date, Refund.created_at)
        .order_by(Refund.created_at, Refund.id)
    ):
        kind = "adjustment" if sale_date < start else "refund"
        rows.append(DetailRow(kind, local_date(created_at), number, int(amount)))
    return rows + _shipping_details(statement)


def _shipping_details(statement: Statement) -> list[DetailRow]:
    """The statement's shipping fees: charged with the period's sales, and given back
    in the period (with the refund of a whole part)."""
    start, end = statement.period_start, statement.period_end
    rows = [
        DetailRow("shipping", day, number, int(fee))
        for number, day, fee in db.session.execute(
            select(Order.number, Order.sale_date, Shipment.shipping_fen)
            .join(Order, Order.id == Shipment.order_id)
            .where(
                Order.channel == Channel.ONLINE,
                Order.status.in_(PAID_STATUSES),
                Order.sale_date.between(start, end),
                Shipment.vendor_id == statement.vendor_id,
                Shipment.shipping_fen > 0,
            )
            .order_by(Order.sale_date, Order.number)
        )
    ]
    for number, sale_date, created_at, fee in db.session.execute(
        select(Order.number, Order.sale_date, Refund.created_at, Shipment.shipping_fen)
        .join(Refund, Refund.id == Shipment.shipping_refund_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(
            Order.channel == Channel.ONLINE,
            Shipment.vendor_id == statement.vendor_id,
            Refund.created_at >= day_start_utc(start),
            Refund.created_at < day_end_utc(end),
        )
        .order_by(Refund.created_at, Refund.id)
    ):
        kind = "shipping_adjustment" if sale_date < start else "shipping_refund"
        rows.append(DetailRow(kind, local_date(created_at), number, int(fee)))
    return rows
