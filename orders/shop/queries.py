"""What the order pages read: the buyer's own online orders, a vendor's own parts of
paid ones, and the bureau's after-sales list. Every id is looked up within the acting
user's scope (another buyer's or vendor's is ``NotFound``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from marketplace.authz import require
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import User
from marketplace.publication import Aggregate, households_reached
from orders.ledger.models import Attribution, Channel, Order, OrderLine, OrderStatus, Refund
from orders.shop.expiry import expire_if_due
from orders.shop.models import Shipment, ShipmentStatus

# ---------------------------------------------------------------- the buyer's orders


def buyer_order(buyer: User, order_id: int) -> Order:
    """One of the buyer's own online orders; anyone else's id is ``NotFound``."""
    order = db.session.scalar(
        select(Order).where(
            Order.id == order_id, Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE
        )
    )
    if order is None:
        raise NotFound()
    expire_if_due(order)
    return order


def buyer_orders(buyer: User) -> Select:
    """The buyer's online orders, newest first (a select to paginate)."""
    return (
        select(Order)
        .where(Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def order_refunds(order: Order) -> list[Refund]:
    return list(
        db.session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    )


def order_impact(order: Order) -> Aggregate:
    """Whom the order helped, from its attribution rows net of refunds, as the public
    may see it (as on product pages): counts only, none below ``MIN_GROUP``."""
    rows = db.session.execute(
        select(Attribution.household_id, Attribution.village_id)
        .where(Attribution.order_id == order.id, Attribution.household_id.is_not(None))
        .group_by(Attribution.household_id, Attribution.village_id)
        .having(func.sum(Attribution.amount) > 0)
    ).all()
    return households_reached(village_id for _household, village_id in rows)


# ---------------------------------------------------------------- vendor and bureau pages


def vendor_parts(actor: User, org, status: str | None = None) -> Select:
    """The vendor's own parts of paid online orders, newest first (a select to paginate),
    optionally of one shipment status. Unpaid and never-paid orders are not shown."""
    require(actor, "orders.fulfil", org)
    stmt = (
        select(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.vendor_id == org.id,
            Order.channel == Channel.ONLINE,
            Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
        )
        .order_by(Order.paid_at.desc(), Shipment.id.desc())
    )
    if status:
        stmt = stmt.where(Shipment.status == status)
    return stmt


def vendor_lines(shipments: list[Shipment]) -> dict[int, list]:
    """The vendor's own lines of each shipment, by shipment id (one query for a page);
    other vendors' lines of the same orders are never loaded."""
    if not shipments:
        return {}
    by_order = {(s.order_id, s.vendor_id): s.id for s in shipments}
    lines: dict[int, list] = {s.id: [] for s in shipments}
    rows = db.session.scalars(
        select(OrderLine)
        .where(
            OrderLine.order_id.in_([s.order_id for s in shipments]),
            OrderLine.vendor_id.in_({s.vendor_id for s in shipments}),
        )
        .order_by(OrderLine.id)
    )
    for line in rows:
        shipment_id = by_order.get((line.order_id, line.vendor_id))
        if shipment_id is not None:
            lines[shipment_id].append(line)
    return lines


def bureau_orders(actor: User, bureau, number: str = "") -> Select:
    """Online orders for after-sales, newest first (a select to paginate); ``number`` is
    a whole order number or its beginning."""
    require(actor, "orders.refund", bureau)
    stmt = (
        select(Order)
        .where(Order.channel == Channel.ONLINE)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    number = (number or "").strip().upper()[:40]
    if number:
        stmt = stmt.where(Order.number.startswith(number, autoescape=True))
    return stmt


def bureau_order(actor: User, bureau, order_id: int) -> Order:
    """One online order as after-sales staff see it; other channels are 404."""
    require(actor, "orders.refund", bureau)
    order = db.session.get(Order, order_id)
    if order is None or order.channel != Channel.ONLINE:
        raise NotFound()
    return order


def shipments_due(actor: User, org, now: datetime, ship_within_hours: int) -> tuple[int, int]:
    """(parts awaiting shipment, of which overdue): the vendor's pending parts of paid
    online orders, overdue when paid more than ``ship_within_hours`` ago."""
    require(actor, "orders.fulfil", org)
    overdue = Order.paid_at < now - timedelta(hours=ship_within_hours)
    pending, late = db.session.execute(
        select(func.count(Shipment.id), func.count(Shipment.id).filter(overdue))
        .join(Shipment.order)
        .where(
            Shipment.vendor_id == org.id,
            Shipment.status == ShipmentStatus.PENDING,
            Order.channel == Channel.ONLINE,
            Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
        )
    ).one()
    return pending, late
