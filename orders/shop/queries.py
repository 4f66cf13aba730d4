"""What the order pages read: the buyer's own online orders, a vendor's own parts of
paid ones, and the bureau's after-sales list. Every id is looked up within the acting
user's scope (another buyer's or vendor's is ``NotFound``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, exists, func, or_, select

from catalog.models import ProductImage
from marketplace.authz import require
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.publication import Aggregate, households_reached
from orders.ledger.models import Attribution, Channel, Order, OrderLine, OrderStatus, Refund
from orders.shop.expiry import expire_if_due
from orders.shop.models import OPEN_AFTER_SALES, AfterSalesRequest, Shipment, ShipmentStatus

# parts the buyer is waiting to receive
RECEIVABLE = (ShipmentStatus.SHIPPED, ShipmentStatus.AT_STATION)

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


# the order list's tabs (待付款 / 待发货 / 待收货 / 已完成 / 售后), in the page's order
ORDER_TABS = ("unpaid", "to_ship", "to_receive", "completed", "after_sales")


def _part_in(*statuses: str):
    return exists().where(Shipment.order_id == Order.id, Shipment.status.in_(statuses))


def _tab_condition(tab: str, now: datetime):
    """What puts an order under a tab. An order may be under two (one part shipped and
    one still to ship); an unpaid order whose reservation lapsed is under none."""
    if tab == "unpaid":
        return and_(
            Order.status == OrderStatus.PENDING_PAYMENT,
            or_(Order.expires_at.is_(None), Order.expires_at > now),
        )
    if tab == "to_ship":
        return and_(Order.status == OrderStatus.PAID, _part_in(ShipmentStatus.PENDING))
    if tab == "to_receive":
        return and_(Order.status == OrderStatus.PAID, _part_in(*RECEIVABLE))
    if tab == "completed":
        return Order.status == OrderStatus.COMPLETED
    # after_sales: money given back, or a request under way
    return or_(
        Order.refunded > 0,
        exists().where(
            AfterSalesRequest.order_id == Order.id,
            AfterSalesRequest.status.in_(OPEN_AFTER_SALES),
        ),
    )


def buyer_orders(buyer: User, tab: str | None = None, now: datetime | None = None) -> Select:
    """The buyer's online orders, newest first (a select to paginate), all of them or
    those under one of ``ORDER_TABS``."""
    stmt = (
        select(Order)
        .where(Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if tab in ORDER_TABS:
        stmt = stmt.where(_tab_condition(tab, now or utcnow()))
    return stmt


def buyer_tab_counts(buyer: User, now: datetime | None = None) -> dict[str, int]:
    """How many of the buyer's orders each tab holds, in one query."""
    now = now or utcnow()
    row = db.session.execute(
        select(
            *(
                func.coalesce(func.sum(case((_tab_condition(tab, now), 1), else_=0)), 0)
                for tab in ORDER_TABS
            )
        ).where(Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE)
    ).one()
    return dict(zip(ORDER_TABS, row, strict=True))


def line_thumbnails(orders: list[Order]) -> dict[int, str]:
    """The first image's thumbnail of each product in these orders, by product id (one
    query for a page of orders)."""
    product_ids = {line.product_id for order in orders for line in order.lines}
    if not product_ids:
        return {}
    thumbs: dict[int, str] = {}
    for product_id, thumb in db.session.execute(
        select(ProductImage.product_id, ProductImage.thumb_filename)
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    ):
        thumbs.setdefault(product_id, thumb)
    return thumbs


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
