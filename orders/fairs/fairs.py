"""Fairs: plan, admit vendors to their stalls, open, close or cancel.

A fair's state changes are guarded updates (``transition``); closing (or cancelling)
returns every stall's unsold stock to its vendor's warehouse.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, time

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit
from marketplace.authz import require
from marketplace.clock import local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, OrgKind, User, utcnow
from marketplace.unit_of_work import transition, unit_of_work
from orders.fairs.models import Fair, FairStall, FairStatus, StallStatus
from vendors import stock
from vendors.stock import WAREHOUSE, Place, Ref, fair_stall

# ---------------------------------------------------------------- scope


def organizes_all(org: Organization) -> bool:
    """The bureau organizes every fair; a fair organizer only its own."""
    return org.kind == OrgKind.BUREAU


def organizer_fair(org: Organization, fair_id: int | None) -> Fair:
    """A fair of ``org`` (any fair for the bureau), else ``NotFound``."""
    fair = db.session.get(Fair, fair_id) if fair_id else None
    if fair is None or not (organizes_all(org) or fair.organizer_id == org.id):
        raise NotFound()
    return fair


def vendor_stall(vendor: Organization, fair_id: int | None) -> FairStall:
    """The vendor's stall (or application) at a fair, else ``NotFound``."""
    stall = db.session.scalar(
        select(FairStall).where(FairStall.fair_id == fair_id, FairStall.vendor_id == vendor.id)
    )
    if stall is None:
        raise NotFound()
    return stall


def stall_place(stall: FairStall) -> Place:
    return fair_stall(stall.fair_id, stall.name)


# ---------------------------------------------------------------- planning


@dataclass
class FairPlan:
    name: str
    date: date
    venue: str
    district: str
    community: str | None = None
    starts_at: time | None = None
    ends_at: time | None = None
    expected_stalls: int | None = None


def new_fair_code(day: date) -> str:
    token = "".join(secrets.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4))
    return f"FR{day:%Y%m%d}-{token}"


def plan_fair(actor: User, org: Organization, plan: FairPlan) -> Fair:
    """A planned fair of ``org``; it must not be dated in the past."""
    require(actor, "fairs.organize", org)
    errors = {}
    if not plan.name.strip():
        errors["name"] = _("请填写集市名称")
    if plan.date < local_today():
        errors["date"] = _("集市日期不能早于今天")
    if plan.starts_at and plan.ends_at and plan.starts_at >= plan.ends_at:
        errors["ends_at"] = _("结束时间必须晚于开始时间")
    if plan.expected_stalls is not None and plan.expected_stalls < 0:
        errors["expected_stalls"] = _("摊位数不能为负数")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    with unit_of_work():
        fair = Fair(
            code=new_fair_code(plan.date),
            name=plan.name.strip(),
            date=plan.date,
            venue=plan.venue.strip(),
            district=plan.district.strip(),
            community=(plan.community or "").strip() or None,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            expected_stalls=plan.expected_stalls,
            status=FairStatus.PLANNED,
            organizer_id=None if organizes_all(org) else org.id,
        )
        db.session.add(fair)
        db.session.flush()
        audit.record(actor, "fair.plan", fair, object_type="fairs")
    return fair


def open_fair(actor: User, org: Organization, fair_id: int) -> Fair:
    """planned -> open, on the fair's own date only."""
    require(actor, "fairs.organize", org)
    with unit_of_work():
        fair = organizer_fair(org, fair_id)
        if local_today() != fair.date:
            raise IllegalTransition(_("只能在集市当天开市"))
        if not transition(fair, FairStatus.PLANNED, status=FairStatus.OPEN, opened_at=utcnow()):
            raise IllegalTransition(_("只有计划中的集市可以开市"))
        audit.record(actor, "fair.open", fair, object_type="fairs")
    return fair


def cancel_fair(actor: User, org: Organization, fair_id: int, reason: str) -> Fair:
    """planned -> cancelled (never once open), with a reason; goods already moved to
    the stalls go back to the warehouses."""
    require(actor, "fairs.organize", org)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写取消原因"), {"reason": _("请填写取消原因")})
    with unit_of_work():
        fair = organizer_fair(org, fair_id)
        if not transition(
            fair, FairStatus.PLANNED, status=FairStatus.CANCELLED, cancel_reason=reason
        ):
            raise IllegalTransition(_("只有尚未开市的集市可以取消"))
        _return_stall_stock(fair, actor, _("集市取消，退回仓库"))
        audit.record(actor, "fair.cancel", fair, object_type="fairs", reason=reason)
    return fair


def close_fair(actor: User, org: Organization, fair_id: int) -> int:
    """open -> closed; every stall's unsold stock returns to its vendor's warehouse
    (recorded transfers). Returns the number of transfers made."""
    require(actor, "fairs.organize", org)
    with unit_of_work():
        fair = organizer_fair(org, fair_id)
        if not transition(fair, FairStatus.OPEN, status=FairStatus.CLOSED, closed_at=utcnow()):
            raise IllegalTransition(_("只有开市中的集市可以闭市"))
        moved = _return_stall_stock(fair, actor, _("闭市，未售出退回仓库"))
        audit.record(actor, "fair.close", fair, object_type="fairs", changes={"returned": moved})
    return moved


def _return_stall_stock(fair: Fair, actor: User, note: str) -> int:
    moved = 0
    stalls = db.session.scalars(
        select(FairStall).where(FairStall.fair_id == fair.id).order_by(FairStall.id)
    )
    for stall in stalls:
        place = stall_place(stall)
        for product_id, units in stock.holdings(stall.vendor_id, place).items():
            stock.transfer(product_id, units, place, WAREHOUSE, Ref("fair", fair.id, actor, note))
            moved += 1
    return moved


# ---------------------------------------------------------------- stalls


def apply_for_stall(
    actor: User, vendor: Organization, fair_id: int, name: str, note: str = ""
) -> FairStall:
    """A vendor asks for a stall at a planned (or open) fair; once per fair."""
    require(actor, "fairs.sell", vendor)
    name = (name or "").strip() or vendor.name[:100]
    with unit_of_work():
        fair = db.session.get(Fair, fair_id)
        if fair is None or fair.status == FairStatus.CANCELLED:
            raise NotFound()
        if fair.status not in (FairStatus.PLANNED, FairStatus.OPEN):
            raise IllegalTransition(_("该集市已不再接受摊位申请"))
        if db.session.scalar(
            select(FairStall.id).where(
                FairStall.fair_id == fair.id, FairStall.vendor_id == vendor.id
            )
        ):
            raise ValidationError(_("已经申请过这个集市的摊位"))
        stall = FairStall(fair_id=fair.id, vendor_id=vendor.id, name=name[:100], note=note or None)
        db.session.add(stall)
        try:
            db.session.flush()
        except IntegrityError:
            raise ValidationError(_("已经申请过这个集市的摊位")) from None
        audit.record(actor, "fair.apply", stall, object_type="fair_stalls")
    return stall


def _organizer_stall(org: Organization, stall_id: int | None) -> FairStall:
    stall = db.session.get(FairStall, stall_id) if stall_id else None
    if stall is None:
        raise NotFound()
    organizer_fair(org, stall.fair_id)
    return stall


def admit_stall(actor: User, org: Organization, stall_id: int) -> FairStall:
    require(actor, "fairs.organize", org)
    with unit_of_work():
        stall = _organizer_stall(org, stall_id)
        if stall.fair.status not in (FairStatus.PLANNED, FairStatus.OPEN):
            raise IllegalTransition(_("该集市已结束"))
        if not transition(
            stall, StallStatus.APPLIED, status=StallStatus.ADMITTED, decided_at=utcnow()
        ):
            raise IllegalTransition(_("该申请已处理"))
        audit.record(actor, "fair.admit", stall, object_type="fair_stalls")
    return stall


def refuse_stall(actor: User, org: Organization, stall_id: int, reason: str) -> FairStall:
    require(actor, "fairs.organize", org)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写拒绝原因"), {"reason": _("请填写拒绝原因")})
    with unit_of_work():
        stall = _organizer_stall(org, stall_id)
        if not transition(
            stall,
            StallStatus.APPLIED,
            status=StallStatus.REFUSED,
            refusal_reason=reason,
            decided_at=utcnow(),
        ):
            raise IllegalTransition(_("该申请已处理"))
        audit.record(actor, "fair.refuse", stall, object_type="fair_stalls", reason=reason)
    return stall
