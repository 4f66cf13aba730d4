"""Household industry rewards (产业奖补): per year and household, the sales the ledger
attributed to it (net of refunds, every channel, by local sale date) and its net
agricultural income, assessed by the bureau or, where none is recorded, estimated as the
attributed sales x ``REWARD_INCOME_RATIO``; the highest tier the income reaches decides
the reward (docs/formats.md, ``rewards households``).

A year's list is computed from the ledger until the bureau approves it; approval freezes
it. A later refund or assessment then changes only what the year's figures would now
give: the change is a difference, shown on the year's page and carried into the next
list approved (of a later year), which freezes it too. What a household was given for a
year is the sum of its rows for that year over every approved list."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from marketplace.authz import require
from marketplace.bulk import chunks
from marketplace.extensions import db
from marketplace.models import Household, Organization, User
from marketplace.money import format_fen
from orders.ledger.models import Attribution
from orders.policy import lists
from orders.policy.lists import MANAGE, year_bounds
from orders.policy.models import (
    EntryKind,
    HouseholdReward,
    IncomeAssessment,
    IncomeSource,
    ListKind,
    RewardList,
)
from orders.policy.rules import Rules

KIND = ListKind.HOUSEHOLDS


@dataclass
class HouseholdRow:
    """A household's figures for ``year``. ``reward`` is the tier reward on a year's own
    row, the change on a difference row (``paid`` being what earlier lists gave)."""

    household_id: int
    year: int
    attributed: int
    income: int
    income_source: str
    threshold: int
    reward: int
    kind: str = EntryKind.REWARD
    paid: int = 0
    household: Household | None = None

    @property
    def is_estimate(self) -> bool:
        return self.income_source == IncomeSource.ESTIMATE

    def to_model(self) -> HouseholdReward:
        return HouseholdReward(
            household_id=self.household_id,
            year=self.year,
            kind=self.kind,
            attributed=self.attributed,
            income=self.income,
            income_source=self.income_source,
            threshold=self.threshold,
            reward=self.reward,
        )


@dataclass
class HouseholdList:
    """A year's household list: ``rows`` the households rewarded for the year (by code),
    ``differences`` the changes to earlier approved years carried in it, ``pending``
    (approved lists only) the changes to this year since its approval, which the next
    list will carry."""

    year: int
    rules: Rules
    approved: RewardList | None
    rows: list[HouseholdRow]
    differences: list[HouseholdRow]
    pending: list[HouseholdRow] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        return sum(r.reward for r in self.rows)

    @property
    def differences_total(self) -> int:
        return sum(r.reward for r in self.differences)

    @property
    def payable(self) -> int:
        return self.total + self.differences_total

    @property
    def pending_total(self) -> int:
        return sum(r.reward for r in self.pending)

    def to_json(self) -> dict:
        """The contract's shape (docs/formats.md): the year's own rewards."""
        return {
            "year": self.year,
            "tiers": [
                {"threshold": format_fen(threshold), "reward": format_fen(reward)}
                for threshold, reward in self.rules.tiers
            ],
            "households": [
                {
                    "household_code": row.household.code,
                    "income": format_fen(row.income),
                    "income_source": row.income_source,
                    "tier_reward": format_fen(row.reward),
                }
                for row in self.rows
            ],
            "count": self.count,
            "total": format_fen(self.total),
        }


def entitlements(year: int, rules: Rules) -> dict[int, HouseholdRow]:
    """What the ledger and the assessments give each household for ``year`` now: every
    household with attributed sales or an assessment in the year, eligible or not."""
    start, end = year_bounds(year)
    attributed = dict(
        db.session.execute(
            select(Attribution.household_id, func.sum(Attribution.amount))
            .where(
                Attribution.household_id.is_not(None),
                Attribution.sale_date >= start,
                Attribution.sale_date <= end,
            )
            .group_by(Attribution.household_id)
        ).all()
    )
    assessed = dict(
        db.session.execute(
            select(IncomeAssessment.household_id, IncomeAssessment.net_income).where(
                IncomeAssessment.year == year
            )
        ).all()
    )
    rows = {}
    for household_id in attributed.keys() | assessed.keys():
        sales = int(attributed.get(household_id) or 0)
        if household_id in assessed:
            income, source = int(assessed[household_id]), IncomeSource.ASSESSED
        else:
            income, source = rules.estimate(sales), IncomeSource.ESTIMATE
        threshold, reward = rules.tier(income)
        rows[household_id] = HouseholdRow(
            household_id, year, sales, income, source, threshold, reward
        )
    return rows


def paid_for(year: int) -> dict[int, int]:
    """What approved lists gave each household for ``year`` (its rows over every list)."""
    return dict(
        db.session.execute(
            select(HouseholdReward.household_id, func.sum(HouseholdReward.reward))
            .where(HouseholdReward.year == year)
            .group_by(HouseholdReward.household_id)
        ).all()
    )


def differences_for(year: int) -> list[HouseholdRow]:
    """The changes to approved ``year`` since it was approved (and since any difference
    already carried): what its figures give now, with its own rules, less what was given."""
    rules = lists.list_rules(KIND, year)
    now = entitlements(year, rules)
    paid = {k: int(v or 0) for k, v in paid_for(year).items()}
    found = []
    for household_id in now.keys() | paid.keys():
        row = now.get(household_id) or HouseholdRow(
            household_id, year, 0, 0, IncomeSource.ESTIMATE, 0, 0
        )
        given = paid.get(household_id, 0)
        if row.reward != given:
            row.kind, row.paid, row.reward = EntryKind.DIFFERENCE, given, row.reward - given
            found.append(row)
    return found


def _with_households(rows: list[HouseholdRow]) -> list[HouseholdRow]:
    """Rows with their households loaded, by household code (then year)."""
    ids = list({r.household_id for r in rows})
    households = {}
    for chunk in chunks(ids):
        for household in db.session.scalars(select(Household).where(Household.id.in_(chunk))):
            households[household.id] = household
    for row in rows:
        row.household = households[row.household_id]
    return sorted(rows, key=lambda r: (r.household.code, r.year))


def _frozen(reward_list: RewardList) -> list[HouseholdRow]:
    entries = db.session.scalars(
        select(HouseholdReward).where(HouseholdReward.list_id == reward_list.id)
    )
    return [
        HouseholdRow(
            e.household_id,
            e.year,
            e.attributed,
            e.income,
            e.income_source,
            e.threshold,
            e.reward,
            kind=e.kind,
        )
        for e in entries
    ]


def build(year: int) -> HouseholdList:
    """The year's list: as approved (and the changes since), or as the ledger gives it now
    with the differences of earlier approved years."""
    approved = lists.approved_list(KIND, year)
    if approved is not None:
        frozen = _with_households(_frozen(approved))
        return HouseholdList(
            year,
            Rules.from_json(approved.rules),
            approved,
            rows=[r for r in frozen if r.kind == EntryKind.REWARD],
            differences=[r for r in frozen if r.kind == EntryKind.DIFFERENCE],
            pending=_with_households(differences_for(year)),
        )
    rules = Rules.configured()
    rows = [r for r in entitlements(year, rules).values() if r.reward > 0]
    differences = [
        row
        for earlier in lists.approved_years(KIND, before=year)
        for row in differences_for(earlier)
    ]
    return HouseholdList(year, rules, None, _with_households(rows), _with_households(differences))


def household_list(actor: User, bureau: Organization, year: int) -> HouseholdList:
    """The bureau's household list for ``year`` (household codes: bureau eyes only)."""
    require(actor, MANAGE, bureau)
    return build(lists.check_year(year))


def approve_households(
    actor: User, bureau: Organization, year: int, expected: tuple[int, int] | None = None
) -> RewardList:
    """Approve and freeze the year's household list (its rewards and the differences it
    carries); once per year, after the year has ended; audited."""

    def freeze() -> tuple[RewardList, list]:
        result = build(year)
        reward_list = RewardList(
            kind=KIND,
            year=year,
            rules=result.rules.to_json(),
            count=result.count,
            total=result.total,
            differences=result.differences_total,
        )
        return reward_list, [r.to_model() for r in result.rows + result.differences]

    return lists.approve(actor, bureau, KIND, year, expected, freeze)
