"""The ledger's use cases. Every channel ends in the paid-sale core, ``record_paid``: the
shop's payments (``mark_paid``, a batch of one), sales paid on the spot
(``record_paid_sale``: fair stalls, counters, procurement paid by transfer) and the sales
import (a batch of thousands) alike. The ledger calls no channel."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, text, update

from catalog.models import Product
from catalog.sellability import ensure_sellable
from marketplace import audit
from marketplace.bulk import bulk_insert, chunks
from marketplace.clock import local_date, local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.fragments import bump_after_commit
from marketplace.models import AuditEntry, Organization, User, utcnow
from marketplace.unit_of_work import lock_row, transition, unit_of_work
from orders.fairs.models import Fair
from orders.ledger import rollup
from orders.ledger.books import CertificationBook, PaidLine, refund_rows, write_attribution
from orders.ledger.models import (
    Attribution,
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundLine,
)
from vendors import stock
from vendors.stock import WAREHOUSE, Goods, OutOfStock, Place, Ref

if TYPE_CHECKING:
    from orders.fairs.models import Fair  # the data-level link of orders.fair_id

NUMBER_PREFIX = {
    Channel.ONLINE: "ON",
    Channel.PROCUREMENT: "PR",
    Channel.FAIR: "FR",
    Channel.COUNTER: "CT",
}


def new_order_number(channel: str, day: date | None = None) -> str:
    """e.g. ON20261128-7K3Q9D: channel, date, six random characters."""
    day = day or local_today()
    token = "".join(secrets.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
    return f"{NUMBER_PREFIX[Channel(channel)]}{day:%Y%m%d}-{token}"


@dataclass
class SaleItem:
    product: Product
    quantity: int
    unit_price: int | None = None  # fen; None: the product's price for this quantity


def create_order(
    channel: str,
    items: Sequence[SaleItem],
    *,
    status: str = OrderStatus.PENDING_PAYMENT,
    buyer_user: User | None = None,
    buyer_org: Organization | None = None,
    buyer_name: str | None = None,
    fair: Fair | None = None,
    payment_method: str | None = None,
    day: date | None = None,
    check_sellable: bool = True,
) -> Order:
    """An order with lines copying each product's name, unit, vendor and unit price.
    Runs in the caller's transaction (or its own)."""
    if channel not in set(Channel):
        raise ValidationError(_("销售渠道无效"))
    if (channel == Channel.FAIR) != (fair is not None):
        raise ValidationError(_("集市销售必须且只能属于一个集市"))
    if payment_method is not None and payment_method not in set(PaymentMethod):
        raise ValidationError(_("支付方式无效"))
    if not items:
        raise ValidationError(_("订单中没有商品"))
    day = day or local_today()
    with unit_of_work():
        order = Order(
            number=new_order_number(channel, day),
            channel=channel,
            status=status,
            buyer_user_id=buyer_user.id if buyer_user else None,
            buyer_org_id=buyer_org.id if buyer_org else None,
            buyer_name=buyer_name,
            fair_id=fair.id if fair else None,
            payment_method=payment_method,
        )
        total = 0
        for item in items:
            if item.quantity <= 0:
                raise ValidationError(_("数量必须大于零"))
            if check_sellable:
                ensure_sellable(item.product, day)
            price = item.unit_price
            if price is None:
                price = item.product.unit_price_for(item.quantity)
            if price < 0:
                raise ValidationError(_("单价不能为负数"))
            amount = price * item.quantity
            total += amount
            order.lines.append(
                OrderLine(
                    product_id=item.product.id,
                    vendor_id=item.product.vendor_id,
                    product_name=item.product.name,
                    unit=item.product.unit,
                    unit_price=price,
                    quantity=item.quantity,
                    amount=amount,
                )
            )
        order.total = total
        db.session.add(order)
        db.session.flush()
    return order


@dataclass(frozen=True)
class PaidSale:
    """One order of a batch becoming paid: when, on which sale date, how, and what the
    core should do with its stock."""

    order_id: int
    paid_at: datetime  # UTC
    sale_date: date | None = None  # None: the local date of ``paid_at``
    payment_method: str | None = None
    stock: str | None = None  # None | STOCK_RESERVED | STOCK_ON_HAND
    place: Place = WAREHOUSE  # where the goods leave from, when stock moves


SALES_AREA = rollup.SALES_AREA  # cached figures computed from paid sales (marketplace.fragments)
STOCK_RESERVED = "reserved"  # reserved units leave as sold (the shop's checkout reserved them)
STOCK_ON_HAND = "on_hand"  # units leave as sold without a reservation (stalls, imports)


class AlreadySettled(IllegalTransition):
    """Some order of the batch was no longer awaiting payment (paid or cancelled by a
    concurrent request); nothing of the batch was written."""

    def __init__(self, order_ids: Sequence[int]):
        super().__init__(_("订单当前状态不能确认收款"))
        self.order_ids = list(order_ids)


def record_paid(
    sales: Sequence[PaidSale], *, actor: User | str | None = None, event: str = "order.paid"
) -> list[int]:
    """The paid-sale core: every channel ends here, whether one order or 100,000.

    For a batch of orders awaiting payment it claims each order once (a guarded
    ``UPDATE ... WHERE status = 'pending_payment'``, so of two concurrent confirmations
    exactly one proceeds, on SQLite as on PostgreSQL), sets the sale date and payment,
    flags the lines certified on the sale date and totals them, writes the household
    attribution, moves stock where asked, and records one audit row per order; all in
    the caller's transaction, set-based (a handful of statements per chunk, no ORM object
    per row). Raises ``AlreadySettled`` if any order was not awaiting payment, and
    ``OutOfStock`` (with ``order_id`` set) if stock could not be taken."""
    if not sales:
        return []
    by_id = {sale.order_id: sale for sale in sales}
    if len(by_id) != len(sales):
        raise ValueError("an order appears twice in one paid batch")
    ids = sorted(by_id)
    now = utcnow()
    # the local date: paid at 00:30 on the 1st in Beijing is a sale of that month
    dates = {sale.order_id: sale.sale_date or local_date(sale.paid_at) for sale in sales}
    # the orders written below become sales of these days only (closed months untouched
    # by a batch of today's sales: orders.reports.freshness)
    with unit_of_work(), rollup.dated(dates.values()):
        if db.session.connection().dialect.name == "postgresql":
            # one UPDATE per order row (claim, payment, certified total at once): each
            # UPDATE of a row is a new row version with its index entries
            lines = _paid_lines(ids, dates)
            certified, totals = _certification(lines)
            _claim_settled(sales, dates, totals, now)
        else:
            _claim(ids, now)
            _set_payment(sales, dates)
            lines = _paid_lines(ids, dates)
            certified, totals = _certification(lines)
        _flag_certified(
            [line.line_id for line in lines if certified[line.line_id] and not line.certified]
        )
        if db.session.connection().dialect.name != "postgresql":
            _set_certified_totals(ids)
        write_attribution(lines, certified)
        _take_stock(sales, lines, actor)
        _audit_paid(sales, dates, lines, actor, event)
        bump_after_commit(db.session(), SALES_AREA)  # /impact and the home counter
    db.session.expire_all()  # ORM instances loaded before now see the new state
    return ids


def _claim(ids: Sequence[int], now: datetime) -> None:
    """Claim each order once: a guarded UPDATE, so of two concurrent confirmations
    exactly one proceeds."""
    claimed: set[int] = set()
    for chunk in chunks(ids):
        claimed.update(
            db.session.scalars(
                update(Order)
                .where(Order.id.in_(chunk), Order.status == OrderStatus.PENDING_PAYMENT)
                .values(status=OrderStatus.PAID, expires_at=None, updated_at=now)
                .returning(Order.id)
            )
        )
    if len(claimed) != len(ids):
        raise AlreadySettled(sorted(set(ids) - claimed))


CLAIM_ROWS = 10_000  # orders per claiming UPDATE on PostgreSQL (arrays bound, not values)


def _claim_settled(
    sales: Sequence[PaidSale], dates: dict[int, date], totals: dict[int, int], now: datetime
) -> None:
    """PostgreSQL: ``_claim``, ``_set_payment`` and the certified totals in one guarded
    UPDATE per chunk, the values of each order bound as arrays (``unnest``)."""
    ordered = sorted(sales, key=lambda sale: sale.order_id)
    claimed: set[int] = set()
    statement = text(
        "UPDATE orders SET status = :paid, expires_at = NULL, updated_at = :now, "
        "sale_date = v.sale_date, paid_at = v.paid_at, "
        "payment_method = COALESCE(v.method, orders.payment_method), "
        "certified_total = v.certified_total "
        "FROM unnest(CAST(:ids AS bigint[]), CAST(:dates AS date[]), "
        "CAST(:paid_ats AS timestamp[]), CAST(:methods AS varchar[]), "
        "CAST(:totals AS bigint[])) AS v(id, sale_date, paid_at, method, certified_total) "
        "WHERE orders.id = v.id AND orders.status = :pending RETURNING orders.id"
    )
    for chunk in chunks(ordered, CLAIM_ROWS):
        claimed.update(
            db.session.scalars(
                statement,
                {
                    "paid": OrderStatus.PAID.value,
                    "pending": OrderStatus.PENDING_PAYMENT.value,
                    "now": now,
                    "ids": [sale.order_id for sale in chunk],
                    "dates": [dates[sale.order_id] for sale in chunk],
                    "paid_ats": [sale.paid_at for sale in chunk],
                    "methods": [sale.payment_method or None for sale in chunk],
                    "totals": [totals[sale.order_id] for sale in chunk],
                },
            )
        )
    if len(claimed) != len(sales):
        raise AlreadySettled(sorted({sale.order_id for sale in sales} - claimed))


def _set_payment(sales: Sequence[PaidSale], dates: dict[int, date]) -> None:
    """Sale date, payment time and method: one UPDATE per distinct combination (an
    import of 100,000 orders has a few hundred dates)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for sale in sales:
        groups[(dates[sale.order_id], sale.paid_at, sale.payment_method)].append(sale.order_id)
    for (sale_date, paid_at, method), order_ids in groups.items():
        values = {"sale_date": sale_date, "paid_at": paid_at}
        if method:
            values["payment_method"] = method
        for chunk in chunks(order_ids):
            db.session.execute(update(Order).where(Order.id.in_(chunk)).values(**values))


def _certification(lines: Sequence[PaidLine]) -> tuple[dict[int, bool], dict[int, int]]:
    """``({line id: certified on its sale date}, {order id: certified total})``; the total
    counts the lines flagged already (a flag is never taken back) as well."""
    book = CertificationBook({line.product_id for line in lines})
    certified = {line.line_id: book.certified(line.product_id, line.sale_date) for line in lines}
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.order_id] += line.amount if line.certified or certified[line.line_id] else 0
    return certified, totals


def _paid_lines(order_ids: Sequence[int], dates: dict[int, date]) -> list[PaidLine]:
    lines = []
    for chunk in chunks(order_ids):
        rows = db.session.execute(
            select(
                OrderLine.order_id,
                OrderLine.id,
                OrderLine.product_id,
                OrderLine.vendor_id,
                OrderLine.amount,
                Order.channel,
                OrderLine.certified,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.order_id.in_(chunk))
            .order_by(OrderLine.id)
        )
        lines.extend(
            PaidLine(
                order_id, line_id, product_id, vendor_id, channel, dates[order_id], amount, flag
            )
            for order_id, line_id, product_id, vendor_id, amount, channel, flag in rows
        )
    return lines


def _flag_certified(line_ids: Sequence[int]) -> None:
    """Flag the lines certified on their sale date (those not flagged already)."""
    for chunk in chunks(sorted(line_ids)):
        db.session.execute(update(OrderLine).where(OrderLine.id.in_(chunk)).values(certified=True))


def _set_certified_totals(order_ids: Sequence[int]) -> None:
    """Each order's certified total from its certified lines."""
    certified_sum = (
        select(func.coalesce(func.sum(OrderLine.amount), 0))
        .where(OrderLine.order_id == Order.id, OrderLine.certified.is_(True))
        .scalar_subquery()
    )
    for chunk in chunks(order_ids):
        db.session.execute(
            update(Order).where(Order.id.in_(chunk)).values(certified_total=certified_sum)
        )


def _take_stock(sales: Sequence[PaidSale], lines: Sequence[PaidLine], actor) -> None:
    """Stock leaves where the sale asked for it, order by order (each movement names its
    order)."""
    moving = {sale.order_id: sale for sale in sales if sale.stock}
    if not moving:
        return
    refs: dict[int, tuple[str, str]] = {}
    for chunk in chunks(sorted(moving)):
        for order_id, number, external_ref in db.session.execute(
            select(Order.id, Order.number, Order.external_ref).where(Order.id.in_(chunk))
        ):
            # an imported sale's movements name the source's sale_ref, a live one its number
            refs[order_id] = ("import", external_ref) if external_ref else ("order", number)
    quantities = _line_quantities([line.line_id for line in lines if line.order_id in moving])
    goods: dict[int, list[Goods]] = defaultdict(list)
    for line in lines:
        sale = moving.get(line.order_id)
        if sale is not None:
            goods[line.order_id].append(
                Goods(line.product_id, quantities[line.line_id], sale.place)
            )
    for order_id in sorted(goods):
        sale = moving[order_id]
        take = stock.commit_sale if sale.stock == STOCK_RESERVED else stock.sell
        ref = Ref(*refs[order_id], actor or "payment")
        try:
            take(goods[order_id], ref)
        except OutOfStock as exc:
            exc.order_id = order_id
            raise


def _line_quantities(line_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in chunks(sorted(line_ids)):
        found.update(
            db.session.execute(
                select(OrderLine.id, OrderLine.quantity).where(OrderLine.id.in_(chunk))
            ).all()
        )
    return found


def _audit_paid(
    sales: Sequence[PaidSale], dates: dict[int, date], lines: Sequence[PaidLine], actor, event
) -> None:
    """One audit row per paid order, written in bulk."""
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.order_id] += line.amount
    actor_id = actor.id if isinstance(actor, User) else None
    label = actor.email if isinstance(actor, User) else (actor or "system")
    now = utcnow()
    rows = [
        {
            "at": now,
            "actor_id": actor_id,
            "actor_label": label,
            "org_id": None,
            "action": event,
            "object_type": "orders",
            "object_id": str(sale.order_id),
            "changes": {
                "total": totals[sale.order_id],
                "sale_date": dates[sale.order_id].isoformat(),
            },
            "reason": None,
        }
        for sale in sales
    ]
    bulk_insert(AuditEntry.__table__, rows)


def mark_paid(
    order: Order,
    *,
    sale_date: date | None = None,
    paid_at: datetime | None = None,
    payment_method: str | None = None,
    actor: User | str | None = None,
    stock_from: str | None = None,
) -> Order:
    """One order becomes paid through the paid-sale core (a batch of one). Paying an
    order that is no longer awaiting payment raises ``AlreadySettled`` and changes
    nothing."""
    record_paid(
        [
            PaidSale(
                order.id,
                paid_at or utcnow(),
                sale_date,
                payment_method,
                stock=stock_from,
            )
        ],
        actor=actor,
    )
    db.session.refresh(order)
    return order


def record_paid_sale(
    channel: str,
    items: Sequence[SaleItem],
    *,
    sale_date: date,
    payment_method: str | None = None,
    buyer_user: User | None = None,
    buyer_org: Organization | None = None,
    buyer_name: str | None = None,
    fair: Fair | None = None,
    actor: User | str | None = None,
    check_sellable: bool = True,
    paid_at: datetime | None = None,
    stock_from: str | None = None,
    place: Place = WAREHOUSE,
) -> Order:
    """A sale paid on the spot (fair, counter, procurement paid by transfer): the order
    and its lines, then the paid-sale core, in one transaction."""
    with unit_of_work():
        order = create_order(
            channel,
            items,
            buyer_user=buyer_user,
            buyer_org=buyer_org,
            buyer_name=buyer_name,
            fair=fair,
            payment_method=payment_method,
            day=sale_date,
            check_sellable=check_sellable,
        )
        record_paid(
            [
                PaidSale(
                    order.id,
                    paid_at or utcnow(),
                    sale_date,
                    payment_method,
                    stock=stock_from,
                    place=place,
                )
            ],
            actor=actor,
        )
    db.session.refresh(order)
    return order


def refund(
    order: Order,
    items: Sequence[tuple[int, int]],
    *,
    reason: str,
    actor: User | str | None = None,
    gateway_ref: str | None = None,
    shipping_fen: int = 0,
) -> Refund:
    """Refund ``(line id, quantity)`` items of a paid order: never more than was paid
    for a line; the attribution is reversed in proportion to what each household got.
    ``shipping_fen``: shipping fees given back with them (in the refund's amount, never
    in the lines, the order's ``refunded`` or the attribution: shipping is no sale).
    Runs in the caller's transaction when there is one (so a gateway refund and stock
    restock can join it)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写退款原因"), {"reason": _("请填写退款原因")})
    if not items:
        raise ValidationError(_("请选择要退款的商品"))
    with unit_of_work():
        # lock the order, then read it and its lines afresh: a concurrent refund that
        # committed while we waited must be seen, never overwritten from stale memory
        locked = lock_row(Order, order.id)
        if not locked.is_paid:
            raise IllegalTransition(_("只有已付款的订单可以退款"))
        bump_after_commit(db.session(), SALES_AREA)  # /impact and the home counter
        lines = {
            line.id: line
            for line in db.session.scalars(
                select(OrderLine)
                .where(OrderLine.order_id == locked.id)
                .execution_options(populate_existing=True)
            )
        }
        record = Refund(
            order_id=locked.id,
            amount=0,
            reason=reason,
            gateway_ref=gateway_ref,
            actor_id=actor.id if isinstance(actor, User) else None,
        )
        db.session.add(record)
        db.session.flush()
        rows: list[dict] = []
        for line_id, quantity in items:
            line = lines.get(line_id)
            if line is None:
                raise NotFound()
            if quantity <= 0 or quantity > line.quantity - line.refunded_quantity:
                raise ValidationError(
                    _(
                        "%(name)s 最多还能退 %(n)d %(unit)s",
                        name=line.product_name,
                        n=line.quantity - line.refunded_quantity,
                        unit=line.unit,
                    )
                )
            if quantity == line.quantity - line.refunded_quantity:
                amount = line.amount - line.refunded_amount  # the rest, exactly
            else:
                amount = line.unit_price * quantity
            line.refunded_quantity += quantity
            line.refunded_amount += amount
            record.amount += amount
            locked.refunded += amount
            record.lines.append(RefundLine(order_line_id=line.id, quantity=quantity, amount=amount))
            rows.extend(refund_rows(line.id, record.id, amount))
        if rows:
            db.session.execute(insert(Attribution), rows)
            rollup.add(rows)  # the reports' sums, written at commit
        if shipping_fen:
            record.shipping_fen = shipping_fen
            record.amount += shipping_fen
            locked.shipping_refunded_fen += shipping_fen  # the check constraint caps it
        audit.record(
            actor or "system",
            "order.refund",
            locked,
            object_type="orders",
            reason=reason,
            changes={
                "amount": record.amount,
                "lines": [list(i) for i in items],
                **({"shipping": shipping_fen} if shipping_fen else {}),
            },
        )
    return record


def cancel_unpaid(order: Order, *, reason: str, actor: User | str | None = None) -> Order:
    """Cancel an order that was never paid (a guarded change: a payment confirmed at the
    same moment wins or loses as a whole)."""
    with unit_of_work():
        if not transition(
            order,
            OrderStatus.PENDING_PAYMENT,
            status=OrderStatus.CANCELLED,
            note=reason,
            updated_at=utcnow(),
        ):
            raise IllegalTransition(_("订单当前状态不能取消"))
        audit.record(actor or "system", "order.cancel", order, object_type="orders", reason=reason)
    return order
