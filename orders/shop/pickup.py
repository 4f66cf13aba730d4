"""Pick-up points: the village e-commerce stations and town service centres where buyers
collect online orders. The bureau keeps the list; checkout offers the active ones."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import Select, select

from marketplace import audit
from marketplace.authz import require
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User
from marketplace.unit_of_work import unit_of_work
from orders.shop.models import PickupKind, PickupPoint

PICKUP_POINT_FIELDS = ("name", "kind", "district", "town", "village", "address", "phone")


_PICKUP_LENGTHS = {
    "name": 200,
    "district": 50,
    "town": 50,
    "village": 50,
    "address": 300,
    "phone": 30,
}


def active_pickup_points(limit: int = 500) -> list[PickupPoint]:
    """The pick-up points a buyer can choose at checkout, by place."""
    return list(
        db.session.scalars(
            select(PickupPoint)
            .where(PickupPoint.active.is_(True))
            .order_by(PickupPoint.district, PickupPoint.town, PickupPoint.name)
            .limit(limit)
        )
    )


def pickup_points(actor: User, bureau, *, q: str = "", show_inactive: bool = True) -> Select:
    """The bureau's list of pick-up points by place (a select to paginate)."""
    require(actor, "pickup_points.manage", bureau)
    stmt = select(PickupPoint).order_by(
        PickupPoint.active.desc(),
        PickupPoint.district,
        PickupPoint.town,
        PickupPoint.name,
        PickupPoint.id,
    )
    q = (q or "").strip()[:50]
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(
            PickupPoint.name.like(pattern)
            | PickupPoint.town.like(pattern)
            | PickupPoint.village.like(pattern)
        )
    if not show_inactive:
        stmt = stmt.where(PickupPoint.active.is_(True))
    return stmt


def pickup_point(actor: User, bureau, point_id: int) -> PickupPoint:
    require(actor, "pickup_points.manage", bureau)
    point = db.session.get(PickupPoint, point_id)
    if point is None:
        raise NotFound()
    return point


def _pickup_values(data: Mapping[str, str | None], point_id: int | None) -> dict:
    """Trimmed, checked values: a village station names its village, the phone is a
    mobile or a landline, and an active point's name is unique in its town."""
    values = {name: (data.get(name) or "").strip() for name in PICKUP_POINT_FIELDS}
    errors: dict[str, str] = {}
    for name in ("name", "district", "town", "address"):
        if not values[name]:
            errors[name] = _("请填写此项")
    if values["kind"] not in set(PickupKind):
        errors["kind"] = _("请选择服务站类型")
    elif values["kind"] == PickupKind.VILLAGE_STATION and not values["village"]:
        errors["village"] = _("村级电商服务站须填写所在村")
    for name, limit in _PICKUP_LENGTHS.items():
        if len(values[name]) > limit:
            errors[name] = _("不能超过 %(n)d 个字符", n=limit)
    if values["phone"] and not re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", values["phone"]):
        errors["phone"] = _("请输入有效的手机号或固定电话（如 0898-66668888）")
    if "name" not in errors and "town" not in errors:
        clash = db.session.scalar(
            select(PickupPoint.id).where(
                PickupPoint.name == values["name"],
                PickupPoint.town == values["town"],
                PickupPoint.active.is_(True),
                PickupPoint.id != (point_id or 0),
            )
        )
        if clash is not None:
            errors["name"] = _("该镇已有同名的自提点")
    if errors:
        raise ValidationError(_("请修正标出的项目"), errors)
    for name in ("village", "phone"):
        values[name] = values[name] or None
    return values


def create_pickup_point(actor: User, bureau, data: Mapping[str, str | None]) -> PickupPoint:
    """Add a village e-commerce station or town e-commerce service centre that buyers
    can choose at checkout."""
    require(actor, "pickup_points.manage", bureau)
    values = _pickup_values(data, None)
    with unit_of_work():
        point = PickupPoint(active=True, **values)
        db.session.add(point)
        db.session.flush()
        audit.record(
            actor,
            "pickup_point.create",
            point,
            org_id=bureau.id,
            changes={k: v for k, v in values.items() if v},
        )
    return point


def update_pickup_point(
    actor: User, bureau, point_id: int, data: Mapping[str, str | None]
) -> PickupPoint:
    """Edit a pick-up point; orders already placed keep pointing at it."""
    point = pickup_point(actor, bureau, point_id)
    values = _pickup_values(data, point.id)
    with unit_of_work():
        changes = audit.diff(point, values)
        for name, value in values.items():
            setattr(point, name, value)
        if changes:
            audit.record(actor, "pickup_point.update", point, org_id=bureau.id, changes=changes)
    return point


def set_pickup_point_active(actor: User, bureau, point_id: int, active: bool) -> PickupPoint:
    """Deactivate a point (checkout stops offering and accepting it; orders placed
    before keep it) or make it available again."""
    point = pickup_point(actor, bureau, point_id)
    with unit_of_work():
        if point.active != active:
            if active:
                _pickup_values({n: getattr(point, n) for n in PICKUP_POINT_FIELDS}, point.id)
            point.active = active
            audit.record(
                actor,
                "pickup_point.activate" if active else "pickup_point.deactivate",
                point,
                org_id=bureau.id,
            )
    return point
