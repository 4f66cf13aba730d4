"""The households driven in a period (bureau only: names and codes), and one
household's benefits by product and by month.

The list groups the period's ledger rows (``orders.reports.source``); one household's
benefits read its own attribution rows (an index on household and date)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, extract, func, select

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import District, Household, Town, Village
from marketplace.pagination import Page, paginate
from orders.ledger.models import Attribution
from orders.reports.breakdowns import EXPORT_LIMIT
from orders.reports.source import Period, driven, ledger_rows


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
    first."""
    per_year = driven(ledger_rows(period))
    years = (
        select(per_year.c.household_id, func.count().label("years"))
        .group_by(per_year.c.household_id)
        .subquery()
    )
    rows = ledger_rows(period)
    amounts = (
        select(rows.c.household_id, func.sum(rows.c.amount).label("amount"))
        .where(rows.c.household_id.in_(select(years.c.household_id)))
        .group_by(rows.c.household_id)
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
