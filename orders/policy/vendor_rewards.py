"""Vendor rewards and subsidies: per vendor and year, the households its sales drove
(distinct households whose net attribution from its sales in the year is above zero),
the amount attributed to households, its net sales by channel and its certified sales;
the reward (``VENDOR_REWARD_PER_HOUSEHOLD`` for each household driven beyond
``VENDOR_REWARD_FLOOR``) and the transport subsidy (``TRANSPORT_SUBSIDY_PERCENT`` of the
certified sales, at most ``TRANSPORT_SUBSIDY_CAP``). Approval freezes the year's list
as the household list's does (``orders.policy.rewards``), differences included."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from marketplace.authz import require
from marketplace.bulk import chunks
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.money import format_fen
from orders.ledger.models import Attribution, Channel
from orders.policy import lists
from orders.policy.lists import MANAGE, year_bounds
from orders.policy.models import EntryKind, ListKind, RewardList, VendorReward
from orders.policy.rules import Rules

KIND = ListKind.VENDORS
CHANNELS = (Channel.ONLINE, Channel.FAIR, Channel.PROCUREMENT, Channel.COUNTER)
FIGURES = (
    "households_driven",
    "attributed",
    "online",
    "fair",
    "procurement",
    "counter",
    "certified_sales",
    "reward",
    "transport_subsidy",
)


@dataclass
class VendorRow:
    """A vendor's figures for ``year``; on a difference row ``reward`` and
    ``transport_subsidy`` are the changes (``paid_*`` what earlier lists gave)."""

    vendor_id: int
    year: int
    households_driven: int = 0
    attributed: int = 0
    online: int = 0
    fair: int = 0
    procurement: int = 0
    counter: int = 0
    certified_sales: int = 0
    reward: int = 0
    transport_subsidy: int = 0
    kind: str = EntryKind.REWARD
    paid_reward: int = 0
    paid_subsidy: int = 0
    vendor: Organization | None = None

    @property
    def sales(self) -> int:
        return self.online + self.fair + self.procurement + self.counter

    @property
    def amount(self) -> int:
        return self.reward + self.transport_subsidy

    def channel(self, name: str) -> int:
        return getattr(self, name)

    def to_model(self) -> VendorReward:
        return VendorReward(
            vendor_id=self.vendor_id,
            year=self.year,
            kind=self.kind,
            **{name: getattr(self, name) for name in FIGURES},
        )


@dataclass
class VendorList:
    year: int
    rules: Rules
    approved: RewardList | None
    rows: list[VendorRow]
    differences: list[VendorRow]
    pending: list[VendorRow] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        return sum(r.amount for r in self.rows)

    @property
    def differences_total(self) -> int:
        return sum(r.amount for r in self.differences)

    @property
    def payable(self) -> int:
        return self.total + self.differences_total

    @property
    def pending_total(self) -> int:
        return sum(r.amount for r in self.pending)

    def sum_of(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.rows)

    def to_json(self) -> dict:
        """The contract's shape (docs/formats.md): the year's own figures."""
        return {
            "year": self.year,
            "vendors": [
                {
                    "vendor_code": row.vendor.code,
                    "households_driven": row.households_driven,
                    "attributed": format_fen(row.attributed),
                    "certified_sales": format_fen(row.certified_sales),
                    "reward": format_fen(row.reward),
                    "transport_subsidy": format_fen(row.transport_subsidy),
                }
                for row in self.rows
            ],
            "total": format_fen(self.total),
        }


def entitlements(year: int, rules: Rules) -> dict[int, VendorRow]:
    """Every vendor with sales (or refunds) dated in ``year``, and what they give now."""
    start, end = year_bounds(year)
    in_year = (Attribution.sale_date >= start, Attribution.sale_date <= end)
    rows: dict[int, VendorRow] = {}

    def row(vendor_id: int) -> VendorRow:
        return rows.setdefault(vendor_id, VendorRow(vendor_id, year))

    sales = db.session.execute(
        select(
            Attribution.vendor_id,
            Attribution.channel,
            func.sum(Attribution.amount),
            func.sum(case((Attribution.certified, Attribution.amount), else_=0)),
            func.sum(case((Attribution.household_id.is_not(None), Attribution.amount), else_=0)),
        )
        .where(*in_year)
        .group_by(Attribution.vendor_id, Attribution.channel)
    )
    for vendor_id, channel, amount, certified, attributed in sales:
        found = row(vendor_id)
        if channel in CHANNELS:
            setattr(found, channel, found.channel(channel) + int(amount or 0))
        found.certified_sales += int(certified or 0)
        found.attributed += int(attributed or 0)
    driven = (
        select(Attribution.vendor_id, Attribution.household_id)
        .where(Attribution.household_id.is_not(None), *in_year)
        .group_by(Attribution.vendor_id, Attribution.household_id)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )
    for vendor_id, count in db.session.execute(
        select(driven.c.vendor_id, func.count()).group_by(driven.c.vendor_id)
    ):
        row(vendor_id).households_driven = int(count)
    for found in rows.values():
        found.reward = rules.vendor_reward(found.households_driven)
        found.transport_subsidy = rules.transport_subsidy(found.certified_sales)
    return rows


def differences_for(year: int) -> list[VendorRow]:
    """The changes to approved ``year`` since its approval, with its own rules."""
    now = entitlements(year, lists.list_rules(KIND, year))
    paid: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for vendor_id, reward, subsidy in db.session.execute(
        select(
            VendorReward.vendor_id,
            func.sum(VendorReward.reward),
            func.sum(VendorReward.transport_subsidy),
        )
        .where(VendorReward.year == year)
        .group_by(VendorReward.vendor_id)
    ):
        paid[vendor_id] = [int(reward or 0), int(subsidy or 0)]
    found = []
    for vendor_id in now.keys() | paid.keys():
        row = now.get(vendor_id) or VendorRow(vendor_id, year)
        given_reward, given_subsidy = paid.get(vendor_id, [0, 0])
        if (row.reward, row.transport_subsidy) != (given_reward, given_subsidy):
            row.kind = EntryKind.DIFFERENCE
            row.paid_reward, row.paid_subsidy = given_reward, given_subsidy
            row.reward -= given_reward
            row.transport_subsidy -= given_subsidy
            found.append(row)
    return found


def _with_vendors(rows: list[VendorRow]) -> list[VendorRow]:
    """Rows with their vendors loaded, by vendor name (then year)."""
    ids = list({r.vendor_id for r in rows})
    vendors = {}
    for chunk in chunks(ids):
        for vendor in db.session.scalars(select(Organization).where(Organization.id.in_(chunk))):
            vendors[vendor.id] = vendor
    for row in rows:
        row.vendor = vendors[row.vendor_id]
    return sorted(rows, key=lambda r: (r.vendor.code or "", r.vendor.name, r.vendor_id, r.year))


def _frozen(reward_list: RewardList) -> list[VendorRow]:
    entries = db.session.scalars(select(VendorReward).where(VendorReward.list_id == reward_list.id))
    return [
        VendorRow(e.vendor_id, e.year, kind=e.kind, **{n: getattr(e, n) for n in FIGURES})
        for e in entries
    ]


def build(year: int) -> VendorList:
    approved = lists.approved_list(KIND, year)
    if approved is not None:
        frozen = _with_vendors(_frozen(approved))
        return VendorList(
            year,
            Rules.from_json(approved.rules),
            approved,
            rows=[r for r in frozen if r.kind == EntryKind.REWARD],
            differences=[r for r in frozen if r.kind == EntryKind.DIFFERENCE],
            pending=_with_vendors(differences_for(year)),
        )
    rules = Rules.configured()
    rows = list(entitlements(year, rules).values())
    differences = [
        row
        for earlier in lists.approved_years(KIND, before=year)
        for row in differences_for(earlier)
    ]
    return VendorList(year, rules, None, _with_vendors(rows), _with_vendors(differences))


def vendor_list(actor: User, bureau: Organization, year: int) -> VendorList:
    """The bureau's vendor list for ``year``."""
    require(actor, MANAGE, bureau)
    return build(lists.check_year(year))


@dataclass
class VendorStatement:
    """One vendor's part of a year's list: its row, and the differences for it."""

    year: int
    vendor: Organization
    rules: Rules
    approved: RewardList | None
    row: VendorRow | None
    differences: list[VendorRow]
    pending: list[VendorRow]

    @property
    def payable(self) -> int:
        return (self.row.amount if self.row else 0) + sum(r.amount for r in self.differences)


def vendor_statement(
    actor: User, bureau: Organization, year: int, vendor_id: int
) -> VendorStatement:
    """A vendor's statement for ``year`` (404 for a vendor not on the list)."""
    require(actor, MANAGE, bureau)
    result = build(lists.check_year(year))
    mine = [r for r in result.rows if r.vendor_id == vendor_id]
    differences = [r for r in result.differences if r.vendor_id == vendor_id]
    pending = [r for r in result.pending if r.vendor_id == vendor_id]
    if not (mine or differences or pending):
        raise NotFound()
    vendor = (mine or differences or pending)[0].vendor
    return VendorStatement(
        year, vendor, result.rules, result.approved, mine[0] if mine else None, differences, pending
    )


def approve_vendors(
    actor: User, bureau: Organization, year: int, expected: tuple[int, int] | None = None
) -> RewardList:
    """Approve and freeze the year's vendor list; once per year, after it ended; audited."""

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
