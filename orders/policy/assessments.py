"""Assessed net agricultural income (村干部评定的农业纯收入), per household and year:
recorded one at a time on the bureau's page or in bulk by ``import assessments``
(docs/formats.md). A later assessment replaces the earlier one of the same year."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from marketplace import audit
from marketplace.authz import require
from marketplace.bulk import bulk_insert
from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.importing import (
    Column,
    Importer,
    ImportSummary,
    Row,
    RowError,
    integer,
    text,
    yuan,
)
from marketplace.models import Household, Organization, User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.policy.lists import FIRST_YEAR, MANAGE
from orders.policy.models import IncomeAssessment

LAST_YEAR = 2100


def assessments_query(year: int, code: str | None = None):
    """The year's assessments with their households, by household code."""
    query = (
        select(IncomeAssessment)
        .join(Household, Household.id == IncomeAssessment.household_id)
        .where(IncomeAssessment.year == year)
        .order_by(Household.code)
    )
    if code:
        query = query.where(Household.code == code)
    return query


def assessments(actor: User, bureau: Organization, year: int, code: str | None = None):
    require(actor, MANAGE, bureau)
    return assessments_query(year, code)


def assessed_count(year: int) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(IncomeAssessment).where(IncomeAssessment.year == year)
        )
        or 0
    )


def record_assessment(
    actor: User,
    bureau: Organization,
    *,
    household_code: str,
    year: int,
    net_income: int,
    assessed_by: str | None = None,
    note: str | None = None,
) -> IncomeAssessment:
    """Record (or correct) a household's assessed net income for ``year``; audited."""
    require(actor, MANAGE, bureau)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(_("年度应在 %(a)d 至 %(b)d 之间。", a=FIRST_YEAR, b=LAST_YEAR))
    if net_income < 0:
        raise ValidationError(_("收入不能为负数。"))
    with unit_of_work():
        household = db.session.scalar(select(Household).where(Household.code == household_code))
        if household is None:
            message = _("没有户编码为 %(code)s 的建档立卡户。", code=household_code)
            raise ValidationError(message, {"household_code": message})
        found = db.session.scalar(
            select(IncomeAssessment)
            .where(IncomeAssessment.household_id == household.id, IncomeAssessment.year == year)
            .with_for_update()
        )
        old = found.net_income if found else None
        if found is None:
            found = IncomeAssessment(household_id=household.id, year=year)
            db.session.add(found)
        found.net_income = net_income
        found.assessed_by = assessed_by or None
        found.note = note or None
        found.recorded_by_id = actor.id
        db.session.flush()
        audit.record(
            actor,
            "rewards.assessment",
            found,
            org_id=bureau.id,
            changes={
                "household": household.code,
                "year": year,
                "net_income": {"old": old, "new": net_income},
            },
        )
    return found


class AssessmentsImport(Importer):
    """`import assessments`: households' assessed net agricultural income per year."""

    name = "assessments"
    title = _l("农户收入评定")
    key = ""  # a household appears once per year: checked in ``check``
    examples = {
        "household_code": "460106001001",
        "year": "2025",
        "net_income": "8600.00",
        "assessed_by": "仁南村两委",
        "note": "",
    }
    columns = [
        Column("household_code", parse=text(50)),
        Column("year", parse=integer(FIRST_YEAR, LAST_YEAR)),
        Column("net_income", parse=yuan),
        Column("assessed_by", required=False, parse=text(100)),
        Column("note", required=False, parse=text(500)),
    ]

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        households = self.lookup(Household.code, (r["household_code"] for r in rows))
        seen: dict[tuple[str, int], int] = {}
        for row in rows:
            if row["household_code"] not in households:
                yield RowError(row.number, "household_code", _("建档立卡户不存在"))
            pair = (row["household_code"], row["year"])
            if pair in seen:
                yield RowError(
                    row.number,
                    "household_code",
                    _("与第 %(r)d 行重复（同一户同一年度）", r=seen[pair]),
                )
            else:
                seen[pair] = row.number

    def write(self, rows: list[Row]) -> ImportSummary:
        households = self.lookup(Household.code, (r["household_code"] for r in rows), Household.id)
        existing = {
            (a.household_id, a.year): a.id
            for year in {r["year"] for r in rows}
            for a in db.session.execute(
                select(
                    IncomeAssessment.id, IncomeAssessment.household_id, IncomeAssessment.year
                ).where(IncomeAssessment.year == year)
            )
        }
        now = utcnow()
        actor_id = getattr(self.actor, "id", None)
        inserts, updates = [], []
        for row in rows:
            household_id = households[row["household_code"]].id
            values = {
                "net_income": row["net_income"],
                "assessed_by": row["assessed_by"],
                "note": row["note"],
                "recorded_by_id": actor_id,
                "updated_at": now,
            }
            found = existing.get((household_id, row["year"]))
            if found is None:
                inserts.append(
                    {**values, "household_id": household_id, "year": row["year"], "created_at": now}
                )
            else:
                updates.append({"id": found, **values})
        bulk_insert(IncomeAssessment.__table__, inserts)
        if updates:
            db.session.execute(update(IncomeAssessment), updates)
        return ImportSummary("assessments", {"created": len(inserts), "updated": len(updates)})
