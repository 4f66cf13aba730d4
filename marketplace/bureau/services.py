"""The household register (bureau eyes only) and the bureau's import and audit pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from .. import audit
from ..authz import require
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import (
    AuditEntry,
    District,
    Household,
    HouseholdStatus,
    Organization,
    RiskLight,
    Town,
    User,
    Village,
)
from ..unit_of_work import unit_of_work


@dataclass
class HouseholdFilters:
    q: str = ""
    district_id: int | None = None
    town_id: int | None = None
    village_id: int | None = None
    status: str | None = None
    risk_light: str | None = None


def household_list(actor: User, org: Organization, filters: HouseholdFilters) -> Select:
    """The statement behind the register list, filtered and in a stable order."""
    require(actor, "households.view", org)
    stmt = select(Household).join(Household.village).join(Village.town).order_by(Household.code)
    if filters.q:
        like = f"%{filters.q}%"
        stmt = stmt.where(or_(Household.code.like(like), Household.head_name.like(like)))
    if filters.village_id:
        stmt = stmt.where(Household.village_id == filters.village_id)
    elif filters.town_id:
        stmt = stmt.where(Village.town_id == filters.town_id)
    elif filters.district_id:
        stmt = stmt.where(Town.district_id == filters.district_id)
    if filters.status in set(HouseholdStatus):
        stmt = stmt.where(Household.status == filters.status)
    if filters.risk_light in set(RiskLight):
        stmt = stmt.where(Household.risk_light == filters.risk_light)
    return stmt


def places() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.name)))


def get_household(actor: User, org: Organization, household_id: int) -> Household:
    require(actor, "households.view", org)
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound()
    return household


def household_history(household: Household) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == "households", AuditEntry.object_id == str(household.id)
            )
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(100)
        )
    )


def update_household(
    actor: User,
    org: Organization,
    household_id: int,
    *,
    status: str,
    risk_light: str,
    reason: str | None = None,
) -> Household:
    """Change a household's status and warning light; every change is audited with the
    old and new values."""
    require(actor, "households.edit", org)
    if status not in set(HouseholdStatus):
        raise ValidationError(_("状态无效"), {"status": _("状态无效")})
    if risk_light not in set(RiskLight):
        raise ValidationError(_("预警灯无效"), {"risk_light": _("预警灯无效")})
    with unit_of_work():
        household = get_household(actor, org, household_id)
        changes = audit.diff(household, {"status": status, "risk_light": risk_light})
        if changes:
            for field, change in changes.items():
                setattr(household, field, change["new"])
            audit.record(
                actor,
                "household.update",
                household,
                org_id=org.id,
                changes=changes,
                reason=(reason or "").strip() or None,
            )
    return household


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""  # an action, or a prefix such as "order."
    actor_q: str = ""  # part of the acting user's e-mail or label
    object_type: str = ""
    object_id: str = ""
    start: datetime | None = None  # naive UTC, inclusive
    end: datetime | None = None  # naive UTC, exclusive


def audit_list(actor: User, org: Organization, filters: AuditFilters | None = None) -> Select:
    """The audit entries matching ``filters``, newest first (a select to paginate)."""
    require(actor, "audit.view", org)
    f = filters or AuditFilters()
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if f.action:
        stmt = stmt.where(AuditEntry.action.like(f"{f.action}%"))
    if f.actor_q:
        stmt = stmt.where(AuditEntry.actor_label.like(f"%{f.actor_q}%"))
    if f.object_type:
        stmt = stmt.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEntry.object_id == f.object_id)
    if f.start is not None:
        stmt = stmt.where(AuditEntry.at >= f.start)
    if f.end is not None:
        stmt = stmt.where(AuditEntry.at < f.end)
    return stmt
