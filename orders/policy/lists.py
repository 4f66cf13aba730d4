"""What both reward lists share: the permission, the year rule, the approved list of a
kind and year, approving one (serialized, once), and a page over rows in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import audit
from marketplace.authz import require
from marketplace.clock import local_today
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.pagination import Page
from marketplace.unit_of_work import lock_row, unit_of_work
from orders.policy.models import RewardList
from orders.policy.rules import Rules

MANAGE = "rewards.manage"
FIRST_YEAR = 2000


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= local_today().year:
        raise ValidationError(
            _("年度应在 %(a)d 至 %(b)d 之间。", a=FIRST_YEAR, b=local_today().year)
        )
    return year


def year_ended(year: int) -> bool:
    """A year's list may be approved once the year is over (nothing can fall into it)."""
    return year < local_today().year


def default_year() -> int:
    """The last year that has ended: the one whose list is due."""
    return local_today().year - 1


def approved_list(kind: str, year: int) -> RewardList | None:
    return db.session.scalar(
        select(RewardList).where(RewardList.kind == kind, RewardList.year == year)
    )


def approved_years(kind: str, before: int | None = None) -> list[int]:
    query = select(RewardList.year).where(RewardList.kind == kind)
    if before is not None:
        query = query.where(RewardList.year < before)
    return list(db.session.scalars(query.order_by(RewardList.year)))


def list_rules(kind: str, year: int) -> Rules:
    """The rules a year's list is computed with: the ones kept on it once approved, the
    configured ones before."""
    found = approved_list(kind, year)
    return Rules.from_json(found.rules) if found else Rules.configured()


def page_of(rows: list, page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return Page(items=rows[start : start + per_page], page=page, per_page=per_page, total=len(rows))


def approve(
    actor: User,
    bureau: Organization,
    kind: str,
    year: int,
    expected: tuple[int, int] | None,
    build: Callable[[], tuple[RewardList, list]],
) -> RewardList:
    """Approve ``kind``'s list for ``year`` once the year has ended, freezing it: ``build``
    computes it afresh (under the lock, so two approvals never carry the same difference)
    and returns the list and its rows. ``expected`` is ``(count, payable)`` as the person
    saw them: if the ledger changed since, nothing is approved and they look again."""
    require(actor, MANAGE, bureau)
    check_year(year)
    if not year_ended(year):
        raise ValidationError(_("%(y)d 年尚未结束，年度结束后才能批准名单。", y=year))
    try:
        with unit_of_work():
            lock_row(Organization, bureau.id)  # approvals one at a time
            if approved_list(kind, year) is not None:
                raise IllegalTransition(_("%(y)d 年的名单已经批准，不能再次批准。", y=year))
            reward_list, rows = build()
            if expected is not None and expected != (reward_list.count, reward_list.payable):
                raise IllegalTransition(
                    _("名单在您查看之后发生了变化（退款或新的收入评定），请核对后再批准。")
                )
            reward_list.approved_by_id = actor.id
            db.session.add(reward_list)
            db.session.flush()
            for row in rows:
                row.list_id = reward_list.id
            db.session.add_all(rows)
            audit.record(
                actor,
                "rewards.approve",
                reward_list,
                org_id=bureau.id,
                changes={
                    "kind": kind,
                    "year": year,
                    "count": reward_list.count,
                    "total": reward_list.total,
                    "differences": reward_list.differences,
                },
            )
    except IntegrityError:
        raise IllegalTransition(_("%(y)d 年的名单正在由他人批准，请刷新后查看。", y=year)) from None
    return reward_list
