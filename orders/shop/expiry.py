"""Time-driven changes of online orders: an unpaid order past its reservation is
cancelled (stock released), and a shipped part the buyer never confirmed is received
after the auto-complete period (``flask orders expire`` runs both)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import audit
from marketplace.extensions import db
from marketplace.models import utcnow
from marketplace.unit_of_work import transition, unit_of_work
from orders.ledger.models import Order, OrderStatus
from orders.shop.models import CancelledBy, Shipment, ShipmentStatus
from orders.shop.parts import cancel_pending_parts, complete_if_done, lock_order, warehouse_goods
from vendors import stock
from vendors.stock import Ref

BATCH = 10_000  # orders one run looks at, per kind


def expire_if_due(order: Order, now: datetime | None = None) -> bool:
    """Release the reservation of an unpaid order past its time and cancel it. Safe to
    race with a payment: only one of them changes the order's status."""
    now = now or utcnow()
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at is None:
        return False
    if order.expires_at > now:
        return False
    with unit_of_work():
        if not transition(
            order,
            OrderStatus.PENDING_PAYMENT,
            status=OrderStatus.CANCELLED,
            note=_("超时未付款，订单已自动取消"),
            updated_at=now,
        ):
            return False
        stock.release(warehouse_goods(order), Ref("order", order.number, "expiry"))
        cancel_pending_parts(order, now, None, CancelledBy.SYSTEM)
        audit.record("system", "order.expire", order, object_type="orders")
    return True


def auto_complete_days() -> int:
    return int(current_app.config.get("ORDER_AUTO_COMPLETE_DAYS", 10))


def expire_orders(now: datetime | None = None) -> tuple[int, int]:
    """`flask orders expire`: cancel unpaid orders past their time (releasing stock),
    and complete shipped orders not confirmed within the auto-complete period (each
    order in its own short transaction, guarded like the buyer's confirmation, so a
    buyer confirming at the same moment is not confirmed twice); (expired, parts
    received)."""
    now = now or utcnow()
    expired = _expire_unpaid(now)
    received = _receive_unconfirmed(now - timedelta(days=auto_complete_days()), now)
    return expired, received


def _expire_unpaid(now: datetime) -> int:
    due = list(
        db.session.scalars(
            select(Order)
            .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
            .order_by(Order.id)
            .limit(BATCH)
        )
    )
    return sum(expire_if_due(order, now) for order in due)


def _receive_unconfirmed(cutoff: datetime, now: datetime) -> int:
    """Parts shipped before ``cutoff`` and not confirmed are received now; an order
    whose parts are all done is completed."""
    order_ids = list(
        db.session.scalars(
            select(Shipment.order_id)
            .where(Shipment.status == ShipmentStatus.SHIPPED, Shipment.shipped_at <= cutoff)
            .distinct()
            .order_by(Shipment.order_id)
            .limit(BATCH)
        )
    )
    received = 0
    for order_id in order_ids:
        with unit_of_work():
            order = lock_order(order_id)
            for shipment in order.shipments:
                if (
                    shipment.is_in_transit
                    and shipment.shipped_at <= cutoff
                    and shipment.receive(now)
                ):
                    received += 1
            complete_if_done(order, now)
    return received
