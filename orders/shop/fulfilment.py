"""After payment: the buyer cancels before shipping or confirms receipt, each vendor
ships or cancels its own part, and the bureau refunds (part of) an order after sale.
Each step is a guarded change under the order's lock (see ``parts.lock_order``), so of
two requests racing over one part exactly one wins; refunds are recorded here and their
money given back through the gateway once committed (``refunds.settle_and_tell``)."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import audit
from marketplace.authz import require
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.ledger import services as ledger
from orders.ledger.models import Channel, Order, OrderStatus, Refund
from orders.shop.models import CancelledBy, DeliveryMethod, Shipment
from orders.shop.notify import notify
from orders.shop.parts import (
    cancel_pending_parts,
    complete_if_done,
    lock_order,
    warehouse_goods,
)
from orders.shop.queries import buyer_order
from orders.shop.refunds import refund_lines, settle_and_tell
from vendors import stock
from vendors.stock import Ref

# ---------------------------------------------------------------- the buyer


def cancel_by_buyer(buyer: User, order_id: int, reason: str) -> Order:
    """Before shipping: an unpaid order is cancelled (reservation released); a paid one
    has every part not yet shipped refunded and restocked. Guarded against the vendor
    shipping at the same moment: each part moves from pending to cancelled by a
    conditional update, under the order's lock, so either the parts are cancelled and
    refunded or the vendor's shipment stands and the buyer is told."""
    order = buyer_order(buyer, order_id)
    reason = (reason or "").strip() or _("买家取消")
    if order.status == OrderStatus.PENDING_PAYMENT:
        try:
            with unit_of_work():
                ledger.cancel_unpaid(order, reason=reason, actor=buyer)
                stock.release(warehouse_goods(order), Ref("order", order.number, buyer))
                cancel_pending_parts(order, utcnow(), reason, CancelledBy.BUYER)
            return order
        except IllegalTransition:
            if order.status == OrderStatus.CANCELLED:  # a second click, or expired
                raise IllegalTransition(_("订单已取消，无需重复操作")) from None
            if not order.is_paid:
                raise
            # paid at the same moment: cancelling it now is a refund, as below
    with unit_of_work():
        order = lock_order(order.id)
        if not order.is_paid:
            raise IllegalTransition(_("订单当前状态不能取消"))
        if order.has_shipped_parts:
            raise IllegalTransition(_("已有商品发货，不能整单取消；请联系客服申请售后"))
        pending = order.parts_to_ship
        if not pending:
            raise IllegalTransition(_("订单已取消，无需重复操作"))
        now = utcnow()
        for shipment in pending:
            if not shipment.cancel(reason, now, CancelledBy.BUYER):
                # shipped meanwhile (SQLite; on PostgreSQL the lock above saw it)
                raise IllegalTransition(_("已有商品发货，不能整单取消；请联系客服申请售后"))
        quantities = _remaining(order, {s.vendor_id for s in pending})
        refund = refund_lines(order, quantities, reason, buyer, f"cancel-{order.number}")
        refund_id = refund.id if refund is not None else None
    settle_and_tell(order, refund_id)
    return order


def _remaining(order: Order, vendor_ids: set[int]) -> dict[int, int]:
    """Quantities not refunded yet of the lines of these vendors' parts."""
    return {
        line.id: line.quantity - line.refunded_quantity
        for line in order.lines
        if line.vendor_id in vendor_ids and line.quantity > line.refunded_quantity
    }


def confirm_receipt(buyer: User, order_id: int) -> Order:
    order = buyer_order(buyer, order_id)
    now = utcnow()
    with unit_of_work():
        order = lock_order(order.id)
        received = 0
        for shipment in order.shipments:
            if shipment.is_in_transit and shipment.receive(now):
                received += 1
        if not received:
            raise IllegalTransition(_("没有待确认收货的包裹"))
        complete_if_done(order, now)
        audit.record(buyer, "order.confirm_receipt", order, object_type="orders")
    return order


# ---------------------------------------------------------------- the vendor


def vendor_shipment(actor: User, org, order_id: int) -> Shipment:
    """The vendor's own part of a paid online order; other vendors' parts are 404."""
    require(actor, "orders.fulfil", org)
    shipment = db.session.scalar(
        select(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.order_id == order_id,
            Shipment.vendor_id == org.id,
            Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
        )
    )
    if shipment is None:
        raise NotFound()
    return shipment


def ship_part(actor: User, org, order_id: int, carrier: str, tracking_no: str) -> Shipment:
    """The vendor ships its part: a guarded change from pending, so a buyer cancelling
    (or the vendor cancelling, or a second click) at the same moment either wins before
    it, and this is refused with a clear message, or loses after it."""
    shipment = record_shipment(actor, org, order_id, carrier, tracking_no)
    notify("shipped", shipment.order)
    return shipment


def record_shipment(actor: User, org, order_id: int, carrier: str, tracking_no: str) -> Shipment:
    """``ship_part`` without telling the buyer: in the caller's transaction when there is
    one (the bulk tracking upload tells the buyers once everything is committed)."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    with unit_of_work():
        shipment = vendor_shipment(actor, org, order_id)
        if shipment.order.delivery_method == DeliveryMethod.PICKUP:
            # delivered to the station by the vendor or a local run: no courier number
            carrier = carrier or _("商家自送到服务站")
        elif not carrier or not tracking_no:
            errors = {}
            if not carrier:
                errors["carrier"] = _("请填写快递公司")
            if not tracking_no:
                errors["tracking_no"] = _("请填写运单号")
            raise ValidationError(_("请填写快递公司和运单号"), errors)
        if not shipment.ship(carrier, tracking_no, utcnow()):
            raise IllegalTransition(_("该包裹当前状态不能发货"))
        audit.record(
            actor,
            "order.ship",
            shipment.order,
            object_type="orders",
            org_id=org.id,
            changes={"carrier": carrier, "tracking_no": tracking_no},
        )
    return shipment


def cancel_part(actor: User, org, order_id: int, reason: str) -> Shipment:
    """The vendor cancels its own unshipped part with a reason: its lines are refunded.
    Guarded like shipping: of a cancellation and a shipment (or two cancellations) at
    the same moment exactly one happens."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写取消原因"), {"reason": _("请填写取消原因")})
    with unit_of_work():
        shipment = vendor_shipment(actor, org, order_id)
        order = lock_order(shipment.order_id)
        now = utcnow()
        if not shipment.cancel(reason, now, CancelledBy.VENDOR):
            raise IllegalTransition(_("该包裹当前状态不能取消"))
        refund = refund_lines(
            order,
            _remaining(order, {org.id}),
            reason,
            actor,
            f"vendor-cancel-{order.number}-{org.id}",
        )
        complete_if_done(order, now)
        refund_id = refund.id if refund is not None else None
    settle_and_tell(order, refund_id)
    return shipment


# ---------------------------------------------------------------- the bureau (售后)


def after_sales_refund(
    actor: User,
    bureau,
    order_id: int,
    quantities: Mapping[int, int],
    reason: str,
    *,
    token: str | None = None,
) -> Order:
    """Bureau staff refund (part of) a paid online order with a reason (售后), e.g. goods
    that arrived damaged. Never more than was paid for a line (the ledger refuses).
    Goods already shipped stay with the buyer; lines of a part not shipped yet go back
    on hand, and that part is cancelled once nothing of it is left to ship. Which parts
    are still in the warehouse is read under the lock (a vendor shipping at the same
    moment waits, or has shipped and nothing comes back on hand). ``token`` is the
    form's one-time token: a form submitted twice refunds once (the second submission
    is refused, under the order's lock, and by the refund key's unique constraint)."""
    require(actor, "orders.refund", bureau)
    if not (reason or "").strip():
        raise ValidationError(_("请填写退款原因"), {"reason": _("请填写退款原因")})
    if any(qty < 0 for qty in quantities.values()):
        raise ValidationError(_("退款数量不能为负数"))
    quantities = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
    if not quantities:
        raise ValidationError(_("请选择要退款的商品"))
    order = db.session.get(Order, order_id)
    if order is None or order.channel != Channel.ONLINE:
        raise NotFound()
    with unit_of_work():
        order = lock_order(order.id)
        key = f"after-sales-{token}" if token else f"after-sales-{order.number}"
        if token and db.session.scalar(select(Refund.id).where(Refund.idempotency_key == key)):
            raise IllegalTransition(_("这张退款单已经提交过，没有重复退款"))
        pending = {s.vendor_id for s in order.parts_to_ship}
        in_warehouse = {line.id for line in order.lines if line.vendor_id in pending}
        refund = refund_lines(
            order,
            quantities,
            reason,
            actor,
            key,
            restock_lines=in_warehouse,
            exact_key=bool(token),
        )
        now = utcnow()
        for shipment in order.shipments:
            lines = [line for line in order.lines if line.vendor_id == shipment.vendor_id]
            if shipment.is_pending and all(
                line.refunded_quantity >= line.quantity for line in lines
            ):
                shipment.cancel(reason.strip(), now, CancelledBy.BUREAU)
        complete_if_done(order, now)
        refund_id = refund.id if refund is not None else None
    settle_and_tell(order, refund_id)
    return order
