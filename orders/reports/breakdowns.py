"""Breakdowns of the ledger for the report pages: per month, per place, and per vendor,
product, fair, agency buyer and counter store.

Everything is a GROUP BY over the period's ledger rows (``orders.reports.source``: the
sales rollup, plus attribution rows for months the period only partly covers), joined to
households and places as a breakdown needs; Python only receives the grouped rows, and
every result is bounded (a page, a limit, or a naturally small set such as the months of
the period or the towns of a district).

Definitions follow the summary (docs/formats.md): amounts are net of refunds; a
household is *driven* in a group when its net attribution through that group in some
calendar year of the period is positive; person-times add the household's members once
per such year. The place breakdown puts money where the attribution row says the
household lived at the sale, and households where they are registered now (so the
household columns add up to the summary exactly).

The households driven (``orders.reports.households``) and the public figures
(``orders.reports.public``) have their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, case, distinct, func, literal, literal_column, select
from sqlalchemy.orm import aliased

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import District, Household, Organization, Town, Village
from marketplace.pagination import Page, paginate
from orders.fairs.models import Fair
from orders.ledger.models import Channel
from orders.reports.source import Period, driven, ledger_rows
from orders.reports.summary import CHANNELS

__all__ = ["EXPORT_LIMIT", "Period"]

# an export never holds more rows than this
EXPORT_LIMIT = 100_000


def attributed(rows):
    """The part of ``rows``' amount credited to some household."""
    return func.sum(case((rows.c.household_id.is_not(None), rows.c.amount), else_=0))


# -- time ---------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: str  # "YYYY-MM"
    amounts: dict[str, int]  # channel -> fen

    @property
    def total(self) -> int:
        return sum(self.amounts.values())


def monthly_cells(period: Period) -> dict[tuple[int, int, str], int]:
    """Net sales per (year, month, channel) with sales in the period."""
    rows = ledger_rows(period, monthly=True)
    grouped = db.session.execute(
        select(rows.c.year, rows.c.month, rows.c.channel, func.sum(rows.c.amount)).group_by(
            rows.c.year, rows.c.month, rows.c.channel
        )
    ).all()
    return {(int(y), int(m), ch): int(a or 0) for y, m, ch, a in grouped}


def monthly_by_channel(period: Period) -> list[MonthRow]:
    """Net sales per calendar month and channel; months without sales between the first
    and the last one are included as zeros so a chart's axis is even."""
    return month_rows(monthly_cells(period))


def month_rows(cells: dict[tuple[int, int, str], int]) -> list[MonthRow]:
    """``monthly_cells`` as the months from the first to the last, zeros between."""
    if not cells:
        return []
    first = min((y, m) for y, m, _ in cells)
    last = max((y, m) for y, m, _ in cells)
    result = []
    y, m = first
    while (y, m) <= last:
        result.append(MonthRow(f"{y:04d}-{m:02d}", {c: cells.get((y, m, c), 0) for c in CHANNELS}))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return result


# -- places -------------------------------------------------------------------------


@dataclass
class GeoRow:
    id: int | None  # None: the unattributed sales
    name: str
    households: int = 0
    person_times: int = 0
    amount: int = 0  # fen


@dataclass
class GeoLevel:
    level: str  # "district", "town" or "village"
    district: District | None
    town: Town | None
    rows: list[GeoRow] = field(default_factory=list)
    unattributed: int = 0  # fen; only at the top level

    @property
    def child_level(self) -> str | None:
        return {"district": "town", "town": "village"}.get(self.level)


def geography(
    period: Period, district_id: int | None = None, town_id: int | None = None
) -> GeoLevel:
    """Households driven, person-times and amount per district, per town of a district,
    or per village of a town. Unknown ids give an empty level."""
    town = db.session.get(Town, town_id) if town_id else None
    district = (
        town.district if town else (db.session.get(District, district_id) if district_id else None)
    )
    if town is not None:
        level, table, key, scope = "village", Village, Village.id, Village.town_id == town.id
    elif district is not None:
        level, table, key, scope = "town", Town, Town.id, Town.district_id == district.id
    elif town_id or district_id:
        return GeoLevel("district", None, None)
    else:
        level, table, key, scope = "district", District, District.id, literal(True)

    def placed(stmt: Select, village_col) -> Select:
        return (
            stmt.join(Village, Village.id == village_col)
            .join(Town, Town.id == Village.town_id)
            .join(District, District.id == Town.district_id)
            .where(scope)
        )

    # the rollup's rows per village first (a few thousand), then up to the level
    rows = ledger_rows(period)
    per_village = (
        select(rows.c.village_id, func.sum(rows.c.amount).label("amount"))
        .where(rows.c.village_id.is_not(None))
        .group_by(rows.c.village_id)
        .subquery()
    )
    money = (
        placed(
            select(key.label("key"), func.sum(per_village.c.amount).label("amount")),
            per_village.c.village_id,
        )
        .group_by(key)
        .subquery()
    )
    households = driven(ledger_rows(period))
    people = (
        placed(
            select(
                key.label("key"),
                func.count(distinct(households.c.household_id)).label("households"),
                func.sum(Household.members).label("person_times"),
            )
            .select_from(households)
            .join(Household, Household.id == households.c.household_id),
            Household.village_id,
        )
        .group_by(key)
        .subquery()
    )
    amount = func.coalesce(money.c.amount, 0)
    found = db.session.execute(
        select(
            table.id,
            table.name,
            func.coalesce(people.c.households, 0),
            func.coalesce(people.c.person_times, 0),
            amount,
        )
        .outerjoin(money, money.c.key == table.id)
        .outerjoin(people, people.c.key == table.id)
        .where(money.c.key.is_not(None) | people.c.key.is_not(None))
        .order_by(amount.desc(), table.name)
    ).all()
    result = GeoLevel(
        level,
        district,
        town,
        [GeoRow(i, n, int(h), int(p), int(a)) for i, n, h, p, a in found],
    )
    if level == "district":
        unplaced = ledger_rows(period)
        result.unattributed = int(
            db.session.scalar(
                select(func.sum(unplaced.c.amount)).where(unplaced.c.village_id.is_(None))
            )
            or 0
        )
    return result


# -- vendor, product, fair, agency buyer, counter store ------------------------------

BuyerOrg = aliased(Organization, name="buyer_org")


@dataclass(frozen=True)
class Dimension:
    name: str
    key: Callable  # (ledger rows) -> the grouping expression
    channel: str | None = None  # only this channel's rows
    buyer: bool = False  # joins the buyer organization


def _buyer_key(rows):
    # a literal SQL constant, not a bound parameter: PostgreSQL must see the GROUP BY
    # expression and the selected one as the same
    return func.coalesce(BuyerOrg.name, rows.c.buyer_name, literal_column("''"))


def _store_key(rows):
    # a counter sale's buyer is a store: its name (a retailer has several stores), else
    # the organization's
    return func.coalesce(rows.c.buyer_name, BuyerOrg.name, literal_column("''"))


DIMENSIONS: dict[str, Dimension] = {
    "vendor": Dimension("vendor", lambda rows: rows.c.vendor_id),
    "product": Dimension("product", lambda rows: rows.c.product_id),
    "fair": Dimension("fair", lambda rows: rows.c.fair_id, Channel.FAIR),
    "agency": Dimension("agency", _buyer_key, Channel.PROCUREMENT, buyer=True),
    "counter": Dimension("counter", _store_key, Channel.COUNTER, buyer=True),
}


@dataclass
class DimRow:
    key: object
    label: str
    detail: str  # a second column: vendor code, product sku, fair date, or ""
    amount: int  # fen
    attributed: int  # fen
    households: int
    person_times: int


def _dimension_rows(dim: Dimension, period: Period, keys: list | None = None):
    """The period's rows of the dimension's channel (of ``keys`` only, if given), with
    its grouping key as ``key``."""
    rows = ledger_rows(period, orders=dim.channel is not None, monthly=dim.name == "fair")
    key = dim.key(rows)
    stmt = select(key.label("key"), rows.c.household_id, rows.c.year, rows.c.amount)
    stmt = stmt.select_from(rows)
    if dim.buyer:
        stmt = stmt.outerjoin(BuyerOrg, BuyerOrg.id == rows.c.buyer_org_id)
    if dim.channel is not None:
        stmt = stmt.where(rows.c.channel == dim.channel)
    if keys is not None:
        stmt = stmt.where(key.in_(keys))
    return stmt.subquery("keyed")


def _top_keys(dim: Dimension, period: Period, limit: int) -> list:
    """The keys of the ``limit`` largest amounts (money only: no household grouping)."""
    keyed = _dimension_rows(dim, period)
    total = func.sum(keyed.c.amount)
    return list(
        db.session.scalars(
            select(keyed.c.key)
            .group_by(keyed.c.key)
            .order_by(total.desc(), keyed.c.key)
            .limit(limit)
        )
    )


# the breakdowns whose keys are ids: their ranking by amount is the same in Python
ID_DIMENSIONS = ("vendor", "product", "fair")


def key_amounts(name: str, period: Period) -> dict[int, int]:
    """Net amount per key of an id breakdown (``ID_DIMENSIONS``): additive over
    disjoint periods, ranked by ``top_keys``."""
    keyed = _dimension_rows(DIMENSIONS[name], period)
    return {
        key: int(amount or 0)
        for key, amount in db.session.execute(
            select(keyed.c.key, func.sum(keyed.c.amount)).group_by(keyed.c.key)
        )
    }


def top_keys(amounts: dict[int, int], limit: int) -> list[int] | None:
    """The ``limit`` keys of the largest amounts, ties by key (as ``_top_keys`` ranks
    them in SQL); None when some key is NULL (ranked by the database then)."""
    if None in amounts:
        return None
    return [key for key, _ in sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def dimension_query(name: str, period: Period, keys: list | None = None) -> Select:
    """The rows of one breakdown (of ``keys`` only, if given), largest amount first:
    (key, label, detail, amount, attributed, households, person_times). One pass over
    the ledger rows: grouped per key, household and year first, which gives both the
    money and the households driven (those of the groups with a positive net)."""
    dim = DIMENSIONS[name]
    keyed = _dimension_rows(dim, period, keys)
    per = (
        select(
            keyed.c.key,
            keyed.c.household_id,
            keyed.c.year,
            func.sum(keyed.c.amount).label("amount"),
        )
        .group_by(keyed.c.key, keyed.c.household_id, keyed.c.year)
        .subquery("per_household")
    )
    is_driven = and_(per.c.household_id.is_not(None), per.c.amount > 0)
    money = (
        select(
            per.c.key,
            func.sum(per.c.amount).label("amount"),
            attributed(per).label("attributed"),
            func.count(distinct(case((is_driven, per.c.household_id)))).label("households"),
            func.sum(case((is_driven, Household.members), else_=0)).label("person_times"),
        )
        .outerjoin(Household, Household.id == per.c.household_id)
        .group_by(per.c.key)
        .subquery()
    )
    if name == "vendor":
        label, detail = Organization.name, func.coalesce(Organization.code, "")
    elif name == "product":
        label, detail = Product.name, Product.sku
    elif name == "fair":
        label, detail = Fair.name, Fair.date
    else:
        label, detail = money.c.key, literal("")
    stmt = select(
        money.c.key,
        label,
        detail,
        money.c.amount,
        money.c.attributed,
        money.c.households,
        money.c.person_times,
    ).select_from(money)
    if name == "vendor":
        stmt = stmt.join(Organization, Organization.id == money.c.key)
    elif name == "product":
        stmt = stmt.join(Product, Product.id == money.c.key)
    elif name == "fair":
        stmt = stmt.join(Fair, Fair.id == money.c.key)
    return stmt.order_by(money.c.amount.desc(), money.c.key)


def _dim_row(row) -> DimRow:
    key, label, detail, amount, attributed_, households, person_times = row
    return DimRow(
        key,
        label or "",
        detail.isoformat() if isinstance(detail, date) else str(detail or ""),
        int(amount or 0),
        int(attributed_ or 0),
        int(households or 0),
        int(person_times or 0),
    )


def dimension_page(name: str, period: Period, page: int, per_page: int) -> Page:
    result = paginate(dimension_query(name, period), page, per_page, scalars=False)
    result.items = [_dim_row(r) for r in result.items]
    return result


TOP_FIRST = 100  # up to this many rows, the top keys are found first from the money alone


def dimension_rows(
    name: str, period: Period, limit: int = EXPORT_LIMIT, keys: list | None = None
) -> list[DimRow]:
    """The breakdown's first ``limit`` rows. A short list (the dashboard's top ten)
    ranks the keys by amount first (or takes ``keys``, ranked so already), then counts
    households for those keys only."""
    if keys is None and limit <= TOP_FIRST:
        keys = _top_keys(DIMENSIONS[name], period, limit)
    if keys == []:
        return []
    stmt = dimension_query(name, period, keys).limit(limit)
    return [_dim_row(r) for r in db.session.execute(stmt)]
