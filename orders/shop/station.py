"""Work at a pick-up point (村级电商服务站 / 镇级电商服务中心): a pick-up order carries a
code the buyer is shown once paid (取件码); the station's staff record each part's
arrival (到站待取) and hand the goods over against the code (已取件). The bureau says who
works at which point. Every step is a guarded change of the part's status."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import Select, select

from marketplace import audit
from marketplace.accounts.services import find_user
from marketplace.authz import require
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.ledger.models import Order, OrderStatus
from orders.shop.models import PickupPoint, PickupPointStaff, Shipment, ShipmentStatus
from orders.shop.notify import notify
from orders.shop.parts import complete_if_done, lock_order

CODE_DIGITS = 6
# parts a station still deals with: on their way to it, or waiting to be collected
OPEN_AT_STATION = (ShipmentStatus.PENDING, ShipmentStatus.SHIPPED, ShipmentStatus.AT_STATION)


def new_pickup_code(point_id: int) -> str:
    """A random code of ``CODE_DIGITS`` digits that no open part at this point holds,
    so a code typed at the station names one order."""
    for _attempt in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = db.session.scalar(
            select(Shipment.id)
            .join(Shipment.order)
            .where(
                Order.pickup_point_id == point_id,
                Shipment.pickup_code == code,
                Shipment.status.in_(OPEN_AT_STATION),
            )
            .limit(1)
        )
        if taken is None:
            return code
    raise IllegalTransition(_("暂时无法生成取件码，请稍后再试"))


# ---------------------------------------------------------------- who works where


def assign_staff(actor: User, bureau, point_id: int, email: str) -> PickupPointStaff:
    """The bureau lets a registered person work at a pick-up point."""
    require(actor, "pickup_points.manage", bureau)
    point = db.session.get(PickupPoint, point_id)
    if point is None:
        raise NotFound()
    user = find_user((email or "").strip())
    if user is None:
        message = _("没有使用这个邮箱注册的用户")
        raise ValidationError(message, {"email": message})
    with unit_of_work():
        staff = db.session.scalar(
            select(PickupPointStaff).where(
                PickupPointStaff.pickup_point_id == point.id, PickupPointStaff.user_id == user.id
            )
        )
        if staff is None:
            staff = PickupPointStaff(pickup_point_id=point.id, user_id=user.id)
            db.session.add(staff)
            audit.record(
                actor, "pickup_point.staff_add", point, org_id=bureau.id, changes={"user": user.id}
            )
    return staff


def remove_staff(actor: User, bureau, point_id: int, staff_id: int) -> None:
    require(actor, "pickup_points.manage", bureau)
    with unit_of_work():
        staff = db.session.get(PickupPointStaff, staff_id)
        if staff is None or staff.pickup_point_id != point_id:
            raise NotFound()
        db.session.delete(staff)
        audit.record(
            actor,
            "pickup_point.staff_remove",
            staff.pickup_point,
            org_id=bureau.id,
            changes={"user": staff.user_id},
        )


def point_staff(point_id: int) -> list[PickupPointStaff]:
    return list(
        db.session.scalars(
            select(PickupPointStaff)
            .where(PickupPointStaff.pickup_point_id == point_id)
            .order_by(PickupPointStaff.id)
        )
    )


def staffed_points(user: User) -> list[PickupPoint]:
    """The pick-up points this person works at."""
    return list(
        db.session.scalars(
            select(PickupPoint)
            .join(PickupPointStaff, PickupPointStaff.pickup_point_id == PickupPoint.id)
            .where(PickupPointStaff.user_id == user.id)
            .order_by(PickupPoint.name)
        )
    )


def station_point(user: User, point_id: int) -> PickupPoint:
    """A point this person works at; any other is ``Forbidden`` (and an unknown one
    ``NotFound``)."""
    point = db.session.get(PickupPoint, point_id)
    if point is None:
        raise NotFound()
    works_here = db.session.scalar(
        select(PickupPointStaff.id).where(
            PickupPointStaff.pickup_point_id == point_id, PickupPointStaff.user_id == user.id
        )
    )
    if works_here is None:
        # not on this station's staff: refused as a stranger would be
        require(user, "pickup_points.manage", None)
    return point


def station_parts(user: User, point_id: int, status: str = ShipmentStatus.SHIPPED) -> Select:
    """Parts of paid orders for this point, on their way (shipped) or waiting to be
    collected (at_station), oldest first (a select to paginate)."""
    station_point(user, point_id)
    return (
        select(Shipment)
        .join(Shipment.order)
        .where(
            Order.pickup_point_id == point_id,
            Order.status == OrderStatus.PAID,
            Shipment.status == status,
        )
        .order_by(Shipment.shipped_at, Shipment.id)
    )


def record_arrival(user: User, point_id: int, shipment_id: int) -> Shipment:
    """到站待取: a part for this point arrived; the buyer is told to come with the code."""
    station_point(user, point_id)
    with unit_of_work():
        shipment = db.session.get(Shipment, shipment_id)
        if shipment is None or shipment.order.pickup_point_id != point_id:
            raise NotFound()
        lock_order(shipment.order_id)
        if not shipment.arrive_at_station(utcnow()):
            raise IllegalTransition(_("该包裹当前状态不能登记到站"))
        audit.record(user, "order.at_station", shipment.order, object_type="orders")
    notify("at_station", shipment.order)
    return shipment


def collect(user: User, point_id: int, code: str) -> Order:
    """已取件: the buyer shows (or says) the code; every part of that order waiting at
    this point is handed over, and the order completes when nothing is left open. A
    wrong code changes nothing."""
    station_point(user, point_id)
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    wrong = ValidationError(_("取件码不正确，或包裹尚未到站"), {"code": _("取件码不正确")})
    if len(code) != CODE_DIGITS:
        raise wrong
    with unit_of_work():
        waiting = list(
            db.session.scalars(
                select(Shipment)
                .join(Shipment.order)
                .where(
                    Order.pickup_point_id == point_id,
                    Shipment.pickup_code == code,
                    Shipment.status == ShipmentStatus.AT_STATION,
                )
            )
        )
        if not waiting:
            raise wrong
        order = lock_order(waiting[0].order_id)
        now = utcnow()
        handed = sum(s.hand_over(now) for s in order.shipments if s.pickup_code == code)
        if not handed:  # collected by a concurrent request
            raise IllegalTransition(_("包裹已被取走"))
        complete_if_done(order, now)
        audit.record(user, "order.collected", order, object_type="orders")
    return order


def works_at_a_point(user: User) -> bool:
    return (
        db.session.scalar(
            select(PickupPointStaff.id).where(PickupPointStaff.user_id == user.id).limit(1)
        )
        is not None
    )
