"""Agencies' reserved shares (预留份额): each year's canteen food budget and ratio (or
"no canteen"), the bureau's minimum ratio and corrections, and the progress figures the
agency page, the bureau's ranking and ``flask report quotas`` all read from here.

- reserved = budget x ratio, in fen, rounded half up; 0 for an agency without a canteen.
- ordered: shop procurement orders submitted in the year (not cancelled, declined or
  back in draft), plus imported procurement sales; accepted: shop orders accepted in the
  year, plus imported sales; paid: every paid ``procurement`` sale of the ledger dated in
  the year whose buyer is the agency (its organization, or its exact name), net of refunds.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from marketplace import audit
from marketplace.authz import require
from marketplace.clock import day_end_utc, day_start_utc
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import District, Organization, OrgKind, OrgStatus, User
from marketplace.money import format_fen
from marketplace.unit_of_work import unit_of_work
from orders.ledger.models import PAID_STATUSES, Channel, Order

from .models import (
    DEFAULT_RATIO_BP,
    RATIO_SCALE,
    AgencyQuota,
    ProcurementOrder,
    QuotaSetting,
    reserved_amount,
)
from .models import ProcurementStatus as S

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_BUDGET = 10**13  # fen: a hundred billion yuan
ORDERED = (S.SUBMITTED, S.APPROVED, S.CONFIRMED, S.SHIPPED, S.ACCEPTED, S.INVOICED, S.PAID)
ACCEPTED = (S.ACCEPTED, S.INVOICED, S.PAID)


def _year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(_("年份无效"))
    return year


def minimum_ratio(year: int) -> int:
    """The bureau's minimum ratio for ``year`` in basis points (10% unless it set one)."""
    setting = db.session.get(QuotaSetting, year)
    return setting.min_ratio_bp if setting else DEFAULT_RATIO_BP


def set_minimum_ratio(actor: User, bureau: Organization, year: int, ratio_bp: int) -> None:
    require(actor, "procurement.oversee", bureau)
    _year(year)
    if not 0 < ratio_bp <= RATIO_SCALE:
        raise ValidationError(_("比例必须大于 0% 且不超过 100%"))
    with unit_of_work():
        setting = db.session.get(QuotaSetting, year)
        old = setting.min_ratio_bp if setting else None
        if setting is None:
            setting = QuotaSetting(year=year, min_ratio_bp=ratio_bp)
            db.session.add(setting)
        setting.min_ratio_bp = ratio_bp
        setting.updated_by_id = actor.id
        audit.record(
            actor,
            "procurement.minimum_ratio",
            object_type="procurement_quota_settings",
            object_id=year,
            changes={"min_ratio_bp": {"old": old, "new": ratio_bp}},
            org_id=bureau.id,
        )


def quota_of(agency_id: int, year: int) -> AgencyQuota | None:
    return db.session.scalar(
        select(AgencyQuota).where(AgencyQuota.agency_id == agency_id, AgencyQuota.year == year)
    )


@dataclass
class QuotaInput:
    year: int
    budget: int = 0  # fen
    ratio_bp: int = DEFAULT_RATIO_BP
    no_canteen: bool = False
    no_canteen_reason: str = ""


def _validate(data: QuotaInput, least_bp: int) -> None:
    _year(data.year)
    if data.no_canteen:
        if not (data.no_canteen_reason or "").strip():
            raise ValidationError(_("请说明没有食堂的原因"))
        return
    if not 0 < data.budget <= MAX_BUDGET:
        raise ValidationError(_("请填写食堂食材采购预算"))
    if not least_bp <= data.ratio_bp <= RATIO_SCALE:
        raise ValidationError(
            _("预留比例不能低于 %(p)s%%，不能高于 100%%", p=percent_text(least_bp))
        )


def _write(quota: AgencyQuota, data: QuotaInput, actor: User) -> dict:
    values = {
        "budget": 0 if data.no_canteen else data.budget,
        "ratio_bp": data.ratio_bp,
        "no_canteen": data.no_canteen,
        "no_canteen_reason": data.no_canteen_reason.strip()[:500] if data.no_canteen else None,
    }
    changes = audit.diff(quota, values) if quota.id else {k: {"new": v} for k, v in values.items()}
    for key, value in values.items():
        setattr(quota, key, value)
    quota.updated_by_id = actor.id
    return changes


def declare_quota(actor: User, agency: Organization, data: QuotaInput) -> AgencyQuota:
    """The agency's admin enters the year's budget and ratio (at least the bureau's
    minimum), or declares that it has no canteen, with the reason."""
    require(actor, "procurement.quota", agency)
    _validate(data, minimum_ratio(data.year))
    with unit_of_work():
        quota = quota_of(agency.id, data.year) or AgencyQuota(agency_id=agency.id, year=data.year)
        changes = _write(quota, data, actor)
        db.session.add(quota)
        db.session.flush()
        audit.record(actor, "procurement.quota", quota, changes=changes, org_id=agency.id)
    return quota


def correct_quota(
    actor: User, bureau: Organization, agency_id: int, data: QuotaInput, reason: str
) -> AgencyQuota:
    """The bureau corrects an agency's figures, with a reason (audited)."""
    require(actor, "procurement.oversee", bureau)
    agency = db.session.get(Organization, agency_id)
    if agency is None or agency.kind != OrgKind.AGENCY:
        raise NotFound()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写更正原因"))
    _validate(data, 0)
    with unit_of_work():
        quota = quota_of(agency.id, data.year) or AgencyQuota(agency_id=agency.id, year=data.year)
        changes = _write(quota, data, actor)
        quota.corrected_by_id = actor.id
        quota.correction_reason = reason[:500]
        db.session.add(quota)
        db.session.flush()
        audit.record(
            actor,
            "procurement.quota_correct",
            quota,
            changes=changes,
            reason=reason,
            org_id=agency.id,
        )
    return quota


# ---------------------------------------------------------------- progress


@dataclass
class QuotaRow:
    agency: Organization
    district: str
    quota: AgencyQuota | None
    budget: int
    ratio_bp: int
    no_canteen: bool
    reserved: int
    ordered: int
    accepted: int
    paid: int
    expected: int  # what should be paid by the date, pro rata over the year

    @property
    def percent_paid(self) -> Decimal | None:
        if not self.reserved:
            return None
        return (Decimal(self.paid) * 100 / Decimal(self.reserved)).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )

    @property
    def bar_percent(self) -> int:
        """0-100, for the progress bar's width."""
        value = self.percent_paid
        return 0 if value is None else int(min(value, Decimal(100)))

    @property
    def behind(self) -> bool:
        return self.reserved > 0 and self.paid < self.expected

    def to_json(self) -> dict:
        percent = self.percent_paid
        return {
            "name": self.agency.name,
            "district": self.district,
            "no_canteen": self.no_canteen,
            "budget": format_fen(self.budget),
            "ratio": float(Decimal(self.ratio_bp) / RATIO_SCALE),
            "reserved": format_fen(self.reserved),
            "ordered": format_fen(self.ordered),
            "accepted": format_fen(self.accepted),
            "paid": format_fen(self.paid),
            "percent_paid": None if percent is None else float(percent),
        }


@dataclass
class QuotaReport:
    year: int
    rows: list[QuotaRow]

    @property
    def total_reserved(self) -> int:
        return sum(row.reserved for row in self.rows)

    @property
    def total_paid(self) -> int:
        return sum(row.paid for row in self.rows)

    def to_json(self) -> dict:
        return {
            "year": self.year,
            "agencies": [row.to_json() for row in self.rows],
            "total_reserved": format_fen(self.total_reserved),
            "total_paid": format_fen(self.total_paid),
        }


def expected_by(reserved: int, year: int, today: date) -> int:
    """The share of ``reserved`` due by ``today`` if paid evenly over the year."""
    if today.year > year:
        return reserved
    if today.year < year:
        return 0
    days = 366 if calendar.isleap(year) else 365
    elapsed = (today - date(year, 1, 1)).days + 1
    return reserved * elapsed // days


def _sum_by(stmt) -> dict[int, int]:
    return {key: int(value or 0) for key, value in db.session.execute(stmt)}


def quota_report(
    year: int, today: date, *, district_id: int | None = None, agency_id: int | None = None
) -> QuotaReport:
    """Every verified agency's figures for ``year``, ranked by percentage paid."""
    _year(year)
    stmt = select(Organization).where(
        Organization.kind == OrgKind.AGENCY, Organization.status == OrgStatus.VERIFIED
    )
    if district_id:
        stmt = stmt.where(Organization.district_id == district_id)
    if agency_id:
        stmt = stmt.where(Organization.id == agency_id)
    agencies = list(db.session.scalars(stmt.order_by(Organization.name, Organization.id)))
    ids = [a.id for a in agencies]
    least = minimum_ratio(year)
    quotas = {
        q.agency_id: q
        for q in db.session.scalars(
            select(AgencyQuota).where(AgencyQuota.year == year, AgencyQuota.agency_id.in_(ids))
        )
    }
    start, end = date(year, 1, 1), date(year, 12, 31)
    ordered = _sum_by(
        select(ProcurementOrder.agency_id, func.sum(ProcurementOrder.total))
        .where(
            ProcurementOrder.agency_id.in_(ids),
            ProcurementOrder.status.in_(ORDERED),
            ProcurementOrder.submitted_at >= day_start_utc(start),
            ProcurementOrder.submitted_at < day_end_utc(end),
        )
        .group_by(ProcurementOrder.agency_id)
    )
    accepted = _sum_by(
        select(ProcurementOrder.agency_id, func.sum(ProcurementOrder.accepted_total))
        .where(
            ProcurementOrder.agency_id.in_(ids),
            ProcurementOrder.status.in_(ACCEPTED),
            ProcurementOrder.accepted_on.between(start, end),
        )
        .group_by(ProcurementOrder.agency_id)
    )
    paid: dict[int, int] = {}
    imported: dict[int, int] = {}
    names = {a.name: a.id for a in agencies}
    if ids:
        rows = db.session.execute(
            select(
                Order.buyer_org_id,
                Order.buyer_name,
                Order.total - Order.refunded,
                ProcurementOrder.id,
            )
            .outerjoin(ProcurementOrder, ProcurementOrder.ledger_order_id == Order.id)
            .where(
                Order.channel == Channel.PROCUREMENT,
                Order.status.in_(PAID_STATUSES),
                Order.sale_date.between(start, end),
                or_(
                    Order.buyer_org_id.in_(ids),
                    and_(Order.buyer_org_id.is_(None), Order.buyer_name.in_(list(names))),
                ),
            )
        )
        for org_id, name, amount, shop_order in rows:
            agency = org_id if org_id in set(ids) else names.get(name)
            paid[agency] = paid.get(agency, 0) + int(amount)
            if shop_order is None:
                imported[agency] = imported.get(agency, 0) + int(amount)
    districts = {
        d.id: d.name
        for d in db.session.scalars(
            select(District).where(District.id.in_({a.district_id for a in agencies} - {None}))
        )
    }
    result = []
    for agency in agencies:
        quota = quotas.get(agency.id)
        no_canteen = bool(quota and quota.no_canteen)
        budget = quota.budget if quota else 0
        ratio = quota.ratio_bp if quota else least
        reserved = 0 if no_canteen else reserved_amount(budget, ratio)
        result.append(
            QuotaRow(
                agency=agency,
                district=districts.get(agency.district_id, ""),
                quota=quota,
                budget=budget,
                ratio_bp=ratio,
                no_canteen=no_canteen,
                reserved=reserved,
                ordered=ordered.get(agency.id, 0) + imported.get(agency.id, 0),
                accepted=accepted.get(agency.id, 0) + imported.get(agency.id, 0),
                paid=paid.get(agency.id, 0),
                expected=expected_by(reserved, year, today),
            )
        )
    result.sort(
        key=lambda r: (r.percent_paid is None, -(r.percent_paid or 0), r.agency.name, r.agency.id)
    )
    return QuotaReport(year, result)


def percent_text(ratio_bp: int) -> str:
    """1000 -> '10', 1250 -> '12.5'."""
    value = Decimal(ratio_bp) / 100
    return f"{value.normalize():f}"


def parse_percent(text: str) -> int:
    """'10' or '12.5' (per cent) -> basis points; ``ValidationError`` otherwise."""
    try:
        value = Decimal((text or "").strip().rstrip("%"))
    except ArithmeticError:
        raise ValidationError(_("比例必须是数字")) from None
    if (
        not value.is_finite()
        or value < 0
        or value > 100
        or value != value.quantize(Decimal("0.01"))
    ):
        raise ValidationError(_("比例必须在 0 到 100 之间，最多两位小数"))
    return int(value * 100)
