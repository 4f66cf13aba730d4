"""The ledger's use cases. Every channel ends in ``mark_paid`` (through
``record_paid_sale`` for sales paid on the spot): the order becomes paid, each line is
attributed to households, in one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import insert, select

from catalog.models import Product
from catalog.services import ensure_sellable
from marketplace import audit
from marketplace.clock import local_date, local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User, utcnow
from marketplace.unit_of_work import lock_row, transition, unit_of_work

from .ledger import CertificationBook, PaidLine, refund_rows, write_attribution
from .models import (
    Attribution,
    Channel,
    Fair,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundLine,
)

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


def mark_paid(
    order: Order,
    *,
    sale_date: date | None = None,
    paid_at: datetime | None = None,
    payment_method: str | None = None,
    actor: User | str | None = None,
) -> Order:
    """The one way an order becomes paid, whatever the channel or gateway: status, sale
    date, certified flags and the household attribution rows, in one transaction.
    Paying a paid order is refused: the change of status is one conditional UPDATE, so
    of two requests paying the same order at once exactly one goes on, and the other gets
    ``IllegalTransition`` however fresh the order it holds (callers that may see a
    payment twice, such as the shop's ``complete_payment``, answer that as a repeat)."""
    with unit_of_work():
        paid_at = paid_at or utcnow()
        # the local date: paid at 00:30 on the 1st in Beijing is a sale of that month
        sale_date = sale_date or local_date(paid_at)
        values = {"status": OrderStatus.PAID, "paid_at": paid_at, "sale_date": sale_date}
        if payment_method:
            values["payment_method"] = payment_method
        if not transition(order, OrderStatus.PENDING_PAYMENT, **values):
            raise IllegalTransition(_("订单当前状态不能确认收款"))
        locked = order
        book = CertificationBook(line.product_id for line in locked.lines)
        certified = {}
        for line in locked.lines:
            line.certified = certified[line.id] = book.certified(line.product_id, sale_date)
        locked.certified_total = sum(line.amount for line in locked.lines if line.certified)
        write_attribution(
            [
                PaidLine(
                    locked.id,
                    line.id,
                    line.product_id,
                    line.vendor_id,
                    locked.channel,
                    sale_date,
                    line.amount,
                )
                for line in locked.lines
            ],
            certified,
        )
        audit.record(
            actor or "system",
            "order.paid",
            locked,
            object_type="orders",
            changes={"total": locked.total, "sale_date": sale_date.isoformat()},
        )
    return locked


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
) -> Order:
    """A sale paid on the spot (fair, counter, procurement paid by transfer): the order,
    its lines and its attribution in one transaction."""
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
        mark_paid(order, sale_date=sale_date, payment_method=payment_method, actor=actor)
    return order


def refund(
    order: Order,
    items: Sequence[tuple[int, int]],
    *,
    reason: str,
    actor: User | str | None = None,
    gateway_ref: str | None = None,
) -> Refund:
    """Refund ``(line id, quantity)`` items of a paid order: never more than was paid
    for a line; the attribution is reversed in proportion to what each household got.
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
        audit.record(
            actor or "system",
            "order.refund",
            locked,
            object_type="orders",
            reason=reason,
            changes={"amount": record.amount, "lines": [list(i) for i in items]},
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
