"""An online order's parts, one per vendor (shipments), and its goods at the warehouse:
the steps that checkout, payment, expiry and fulfilment share. Each runs in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.unit_of_work import lock_row, transition
from orders.ledger.models import Order, OrderLine, OrderStatus
from orders.shop.models import CancelledBy, Shipment
from vendors.stock import Goods


def warehouse_goods(
    order: Order, line_ids: set[int] | None = None, quantities: Mapping[int, int] | None = None
) -> list[Goods]:
    """The order's lines (or some, in the given quantities) as goods at the warehouse."""
    return [
        Goods(line.product_id, quantities[line.id] if quantities else line.quantity)
        for line in order.lines
        if line_ids is None or line.id in line_ids
    ]


def lock_order(order_id: int) -> Order:
    """The order and its parts locked (order first, then its shipments by id: the same
    order in every use case) and read afresh with its lines, for a decision that must
    not rest on what the request loaded before."""
    order = lock_row(Order, order_id)
    if order is None:
        raise NotFound()
    fresh = {"populate_existing": True}
    db.session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.id)
        .with_for_update()
        .execution_options(**fresh)
    ).all()
    db.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).execution_options(**fresh)
    ).all()
    return order


def cancel_pending_parts(order: Order, now: datetime, reason: str | None, by: CancelledBy) -> None:
    """Cancel the order's parts still waiting to ship."""
    for shipment in order.parts_to_ship:
        shipment.cancel(reason, now, by)


def complete_if_done(order: Order, now: datetime) -> None:
    """A paid order whose every part was received (or cancelled, with at least one
    received) becomes completed; call with the order locked and read afresh."""
    if order.ready_to_complete:
        transition(order, OrderStatus.PAID, status=OrderStatus.COMPLETED, completed_at=now)
