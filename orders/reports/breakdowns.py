"""Breakdowns of the ledger for the report pages: per month, per place, per vendor,
product, fair, agency buyer and counter store, the households driven, one household's
benefits, and the public impact figures (published through marketplace.publication).

Everything is a GROUP BY over the attribution rows in the database (joined to orders,
households and places as a breakdown needs); Python only receives the grouped rows, and
every result is bounded (a page, a limit, or a naturally small set such as the months of
the period or the towns of a district).

Definitions follow the summary (docs/formats.md): amounts are net of refunds; a
household is *driven* in a group when its net attribution through that group in some
calendar year of the period is positive; person-times add the household's members once
per such year. The place breakdown puts money where the attribution row says the
household lived at the sale, and households where they are registered now (so the
household columns add up to the summary exactly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, case, distinct, extract, func, literal, literal_column, select
from sqlalchemy.orm import aliased

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import District, Household, Organization, Town, Village
from marketplace.pagination import Page, paginate
from marketplace.publication import Aggregate, Counts, publish, publish_tables
from orders.fairs.models import Fair
from orders.ledger.models import Attribution, Channel, Order
from orders.reports.summary import CHANNELS, period_clause

# an export never holds more rows than this
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Period:
    """Sale dates from ``date_from`` to ``date_to``, both inclusive; None = open."""

    date_from: date | None = None
    date_to: date | None = None

    def clause(self, column=Attribution.sale_date):
        return period_clause(column, self.date_from, self.date_to)


def _year():
    return extract("year", Attribution.sale_date)


def _driven(period: Period, *keys, where=(), join_order: bool = False):
    """(keys..., household_id, year) with positive net attribution in that group and
    calendar year: the households a group drove, as a subquery."""
    year = _year().label("year")
    stmt = select(*keys, Attribution.household_id.label("household_id"), year).where(
        Attribution.household_id.is_not(None), period.clause(), *where
    )
    if join_order:
        stmt = stmt.join(Order, Order.id == Attribution.order_id)
    return (
        stmt.group_by(*keys, Attribution.household_id, year)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )


_attributed = func.sum(case((Attribution.household_id.is_not(None), Attribution.amount), else_=0))


# -- time ---------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: str  # "YYYY-MM"
    amounts: dict[str, int]  # channel -> fen

    @property
    def total(self) -> int:
        return sum(self.amounts.values())


def monthly_by_channel(period: Period) -> list[MonthRow]:
    """Net sales per calendar month and channel; months without sales between the first
    and the last one are included as zeros so a chart's axis is even."""
    year = extract("year", Attribution.sale_date).label("y")
    month = extract("month", Attribution.sale_date).label("m")
    grouped = db.session.execute(
        select(year, month, Attribution.channel, func.sum(Attribution.amount))
        .where(period.clause())
        .group_by(year, month, Attribution.channel)
        .order_by(year, month)
    ).all()
    if not grouped:
        return []
    cells = {(int(y), int(m), ch): int(a or 0) for y, m, ch, a in grouped}
    first = min((y, m) for y, m, _ in cells)
    last = max((y, m) for y, m, _ in cells)
    rows = []
    y, m = first
    while (y, m) <= last:
        rows.append(MonthRow(f"{y:04d}-{m:02d}", {c: cells.get((y, m, c), 0) for c in CHANNELS}))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return rows


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

    money = (
        placed(
            select(key.label("key"), func.sum(Attribution.amount).label("amount")),
            Attribution.village_id,
        )
        .where(period.clause())
        .group_by(key)
        .subquery()
    )
    driven = _driven(period)
    people = (
        placed(
            select(
                key.label("key"),
                func.count(distinct(driven.c.household_id)).label("households"),
                func.sum(Household.members).label("person_times"),
            )
            .select_from(driven)
            .join(Household, Household.id == driven.c.household_id),
            Household.village_id,
        )
        .group_by(key)
        .subquery()
    )
    amount = func.coalesce(money.c.amount, 0)
    rows = db.session.execute(
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
        [GeoRow(i, n, int(h), int(p), int(a)) for i, n, h, p, a in rows],
    )
    if level == "district":
        result.unattributed = int(
            db.session.scalar(
                select(func.sum(Attribution.amount)).where(
                    Attribution.village_id.is_(None), period.clause()
                )
            )
            or 0
        )
    return result


# -- vendor, product, fair, agency buyer, counter store ------------------------------

BuyerOrg = aliased(Organization, name="buyer_org")


@dataclass(frozen=True)
class Dimension:
    name: str
    key: Callable  # () -> the grouping expression
    where: tuple = ()
    join_order: bool = False
    buyer: bool = False


def _buyer_key():
    # a literal SQL constant, not a bound parameter: PostgreSQL must see the GROUP BY
    # expression and the selected one as the same
    return func.coalesce(BuyerOrg.name, Order.buyer_name, literal_column("''"))


def _store_key():
    # a counter sale's buyer is a store: its name (a retailer has several stores), else
    # the organization's
    return func.coalesce(Order.buyer_name, BuyerOrg.name, literal_column("''"))


DIMENSIONS: dict[str, Dimension] = {
    "vendor": Dimension("vendor", lambda: Attribution.vendor_id),
    "product": Dimension("product", lambda: Attribution.product_id),
    "fair": Dimension(
        "fair", lambda: Order.fair_id, (Attribution.channel == Channel.FAIR,), join_order=True
    ),
    "agency": Dimension(
        "agency",
        _buyer_key,
        (Attribution.channel == Channel.PROCUREMENT,),
        join_order=True,
        buyer=True,
    ),
    "counter": Dimension(
        "counter",
        _store_key,
        (Attribution.channel == Channel.COUNTER,),
        join_order=True,
        buyer=True,
    ),
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


def _joined(dim: Dimension, stmt: Select) -> Select:
    if dim.join_order:
        stmt = stmt.join(Order, Order.id == Attribution.order_id)
    if dim.buyer:
        stmt = stmt.outerjoin(BuyerOrg, BuyerOrg.id == Order.buyer_org_id)
    return stmt


def dimension_query(name: str, period: Period) -> Select:
    """The rows of one breakdown, largest amount first: (key, label, detail, amount,
    attributed, households, person_times)."""
    dim = DIMENSIONS[name]
    key = dim.key().label("key")
    money = (
        _joined(
            dim,
            select(
                key,
                func.sum(Attribution.amount).label("amount"),
                _attributed.label("attributed"),
            ).select_from(Attribution),
        )
        .where(period.clause(), *dim.where)
        .group_by(dim.key())
        .subquery()
    )
    year = _year().label("year")
    per_year = (
        _joined(
            dim,
            select(
                dim.key().label("key"), Attribution.household_id.label("household_id"), year
            ).select_from(Attribution),
        )
        .where(Attribution.household_id.is_not(None), period.clause(), *dim.where)
        .group_by(dim.key(), Attribution.household_id, year)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )
    people = (
        select(
            per_year.c.key,
            func.count(distinct(per_year.c.household_id)).label("households"),
            func.sum(Household.members).label("person_times"),
        )
        .join(Household, Household.id == per_year.c.household_id)
        .group_by(per_year.c.key)
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
        func.coalesce(people.c.households, 0),
        func.coalesce(people.c.person_times, 0),
    ).outerjoin(people, people.c.key == money.c.key)
    if name == "vendor":
        stmt = stmt.join(Organization, Organization.id == money.c.key)
    elif name == "product":
        stmt = stmt.join(Product, Product.id == money.c.key)
    elif name == "fair":
        stmt = stmt.join(Fair, Fair.id == money.c.key)
    return stmt.order_by(money.c.amount.desc(), money.c.key)


def _dim_row(row) -> DimRow:
    key, label, detail, amount, attributed, households, person_times = row
    return DimRow(
        key,
        label or "",
        detail.isoformat() if isinstance(detail, date) else str(detail or ""),
        int(amount or 0),
        int(attributed or 0),
        int(households or 0),
        int(person_times or 0),
    )


def dimension_page(name: str, period: Period, page: int, per_page: int) -> Page:
    result = paginate(dimension_query(name, period), page, per_page, scalars=False)
    result.items = [_dim_row(r) for r in result.items]
    return result


def dimension_rows(name: str, period: Period, limit: int = EXPORT_LIMIT) -> list[DimRow]:
    return [_dim_row(r) for r in db.session.execute(dimension_query(name, period).limit(limit))]


# -- households ---------------------------------------------------------------------


@dataclass
class DrivenHousehold:
    id: int
    code: str
    head_name: str
    members: int
    place: str
    years: int  # calendar years of the period in which it was driven
    amount: int  # fen, net over the period

    @property
    def person_times(self) -> int:
        return self.members * self.years


def households_query(period: Period) -> Select:
    """The households driven in the period with their net attributed amounts, largest
    first (bureau only: names and codes)."""
    driven = _driven(period)
    years = (
        select(driven.c.household_id, func.count().label("years"))
        .group_by(driven.c.household_id)
        .subquery()
    )
    amounts = (
        select(Attribution.household_id, func.sum(Attribution.amount).label("amount"))
        .where(
            period.clause(),
            Attribution.household_id.in_(select(years.c.household_id)),
        )
        .group_by(Attribution.household_id)
        .subquery()
    )
    return (
        select(
            Household.id,
            Household.code,
            Household.head_name,
            Household.members,
            District.name,
            Town.name,
            Village.name,
            years.c.years,
            amounts.c.amount,
        )
        .select_from(years)
        .join(amounts, amounts.c.household_id == years.c.household_id)
        .join(Household, Household.id == years.c.household_id)
        .join(Village, Village.id == Household.village_id)
        .join(Town, Town.id == Village.town_id)
        .join(District, District.id == Town.district_id)
        .order_by(amounts.c.amount.desc(), Household.code)
    )


def _household_row(row) -> DrivenHousehold:
    id_, code, name, members, district, town, village, years, amount = row
    return DrivenHousehold(
        id_, code, name, int(members), f"{district}{town}{village}", int(years), int(amount or 0)
    )


def households_page(period: Period, page: int, per_page: int) -> Page:
    result = paginate(households_query(period), page, per_page, scalars=False)
    result.items = [_household_row(r) for r in result.items]
    return result


def households_rows(period: Period, limit: int = EXPORT_LIMIT) -> list[DrivenHousehold]:
    return [_household_row(r) for r in db.session.execute(households_query(period).limit(limit))]


# -- one household's benefits ----------------------------------------------------------


@dataclass
class ProductBenefit:
    product_id: int
    name: str
    sku: str
    amount: int  # fen


@dataclass
class MonthBenefit:
    month: str  # "YYYY-MM"
    product_id: int
    name: str
    amount: int  # fen


HOUSEHOLD_PRODUCT_LIMIT = 500
HOUSEHOLD_MONTH_LIMIT = 5000


def household_products(household_id: int, period: Period) -> list[ProductBenefit]:
    """What each product's sales brought the household in the period, largest first."""
    total = func.sum(Attribution.amount)
    rows = db.session.execute(
        select(Product.id, Product.name, Product.sku, total)
        .join(Product, Product.id == Attribution.product_id)
        .where(Attribution.household_id == household_id, period.clause())
        .group_by(Product.id, Product.name, Product.sku)
        .order_by(total.desc(), Product.sku)
        .limit(HOUSEHOLD_PRODUCT_LIMIT)
    )
    return [ProductBenefit(i, n, s, int(a or 0)) for i, n, s, a in rows]


def household_months_query(household_id: int, period: Period) -> Select:
    year = extract("year", Attribution.sale_date).label("y")
    month = extract("month", Attribution.sale_date).label("m")
    return (
        select(year, month, Product.id, Product.name, func.sum(Attribution.amount))
        .join(Product, Product.id == Attribution.product_id)
        .where(Attribution.household_id == household_id, period.clause())
        .group_by(year, month, Product.id, Product.name)
        .order_by(year.desc(), month.desc(), Product.name)
    )


def _month_benefit(row) -> MonthBenefit:
    y, m, product_id, name, amount = row
    return MonthBenefit(f"{int(y):04d}-{int(m):02d}", product_id, name, int(amount or 0))


def household_months_page(household_id: int, period: Period, page: int, per_page: int) -> Page:
    result = paginate(household_months_query(household_id, period), page, per_page, scalars=False)
    result.items = [_month_benefit(r) for r in result.items]
    return result


def household_months(household_id: int, period: Period) -> list[MonthBenefit]:
    stmt = household_months_query(household_id, period).limit(HOUSEHOLD_MONTH_LIMIT)
    return [_month_benefit(r) for r in db.session.execute(stmt)]


# -- the public impact figures -------------------------------------------------------


@dataclass
class PublicImpact:
    """The public page's figures, published (marketplace.publication): the headline,
    by calendar year and by channel."""

    total: Aggregate
    years: list[Aggregate]
    channels: list[Aggregate]


def _people_by(driven, key=None) -> dict:
    """key -> (households, person_times, villages) over a driven subquery."""
    cols = [key] if key is not None else []
    rows = db.session.execute(
        select(
            *cols,
            func.count(distinct(driven.c.household_id)),
            func.sum(Household.members),
            func.count(distinct(Household.village_id)),
        )
        .select_from(driven)
        .join(Household, Household.id == driven.c.household_id)
        .group_by(*cols)
    ).all()
    if key is None:
        h, p, v = rows[0] if rows else (0, 0, 0)
        return {None: (int(h or 0), int(p or 0), int(v or 0))}
    return {k: (int(h or 0), int(p or 0), int(v or 0)) for k, h, p, v in rows}


def _counts(amount: int, people: tuple[int, int, int]) -> Counts:
    households, person_times, villages = people
    return Counts(households, amount, person_times, villages)


def _headline(period: Period) -> Counts:
    amount = db.session.scalar(select(func.sum(Attribution.amount)).where(period.clause()))
    return _counts(int(amount or 0), _people_by(_driven(period))[None])


def headline(period: Period | None = None) -> Aggregate:
    """Total sales, households driven, person-times and villages reached, as published
    (the home page's counter). It is the impact page's total: ``publish_tables`` only
    withholds a published total when a table's rows miss some of its households, and
    every household driven is in some year's row and some channel's row."""
    return publish(_headline(period or Period()))


def impact(period: Period | None = None) -> PublicImpact:
    """The public page's figures: the headline, by calendar year and by channel. Both
    tables split the headline, so they are published together (complementary
    suppression: no withheld group is the headline minus the rows shown)."""
    period = period or Period()
    total = _headline(period)

    year = extract("year", Attribution.sale_date).label("y")
    money_by_year = {
        int(y): int(a or 0)
        for y, a in db.session.execute(
            select(year, func.sum(Attribution.amount)).where(period.clause()).group_by(year)
        )
    }
    driven = _driven(period)
    people_by_year = {int(k): v for k, v in _people_by(driven, driven.c.year).items()}
    years = [
        (str(y), _counts(money_by_year.get(y, 0), people_by_year.get(y, (0, 0, 0))))
        for y in sorted(set(money_by_year) | set(people_by_year))
    ]

    money_by_channel = dict(
        db.session.execute(
            select(Attribution.channel, func.sum(Attribution.amount))
            .where(period.clause())
            .group_by(Attribution.channel)
        ).all()
    )
    by_channel = _driven(period, Attribution.channel.label("channel"))
    people_by_channel = _people_by(by_channel, by_channel.c.channel)
    channels = [
        (str(c), _counts(int(money_by_channel.get(c) or 0), people_by_channel.get(c, (0, 0, 0))))
        for c in CHANNELS
    ]
    published, (year_rows, channel_rows) = publish_tables(total, years, channels)
    return PublicImpact(published, year_rows, channel_rows)


@dataclass(frozen=True)
class VendorMonth:
    amount: int  # fen, net of refunds, every channel
    households: int  # households whose net attribution through the vendor is positive


def vendor_period(vendor_id: int, period: Period) -> VendorMonth:
    """One vendor's sales and households driven in a period (its dashboard's month)."""
    where = (
        Attribution.vendor_id == vendor_id,
        period_clause(Attribution.sale_date, period.date_from, period.date_to),
    )
    amount = db.session.scalar(select(func.coalesce(func.sum(Attribution.amount), 0)).where(*where))
    per_household = (
        select(Attribution.household_id)
        .where(*where, Attribution.household_id.is_not(None))
        .group_by(Attribution.household_id)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )
    households = db.session.scalar(select(func.count()).select_from(per_household))
    return VendorMonth(int(amount), households)
