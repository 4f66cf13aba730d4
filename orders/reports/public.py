"""The public impact figures (/impact and the home page's counter), published through
marketplace.publication, and one vendor's month for its dashboard.

The impact figures group the ledger rows (``orders.reports.source``) over everything:
whole months, so the sales rollup alone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select

from marketplace.extensions import db
from marketplace.models import Household
from marketplace.publication import Aggregate, Counts, publish, publish_tables
from orders.ledger.models import Attribution
from orders.reports.source import Period, driven, ledger_rows, period_clause
from orders.reports.summary import CHANNELS


@dataclass
class PublicImpact:
    """The public page's figures, published (marketplace.publication): the headline,
    by calendar year and by channel."""

    total: Aggregate
    years: list[Aggregate]
    channels: list[Aggregate]


def _people_by(households, key=None) -> dict:
    """key -> (households, person_times, villages) over a ``driven`` subquery."""
    cols = [key] if key is not None else []
    rows = db.session.execute(
        select(
            *cols,
            func.count(distinct(households.c.household_id)),
            func.sum(Household.members),
            func.count(distinct(Household.village_id)),
        )
        .select_from(households)
        .join(Household, Household.id == households.c.household_id)
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
    rows = ledger_rows(period)
    amount = db.session.scalar(select(func.sum(rows.c.amount)))
    return _counts(int(amount or 0), _people_by(driven(ledger_rows(period)))[None])


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

    rows = ledger_rows(period)
    money = db.session.execute(
        select(rows.c.year, rows.c.channel, func.sum(rows.c.amount)).group_by(
            rows.c.year, rows.c.channel
        )
    ).all()
    money_by_year: dict[int, int] = {}
    money_by_channel: dict[str, int] = {}
    for y, channel, amount in money:
        money_by_year[int(y)] = money_by_year.get(int(y), 0) + int(amount or 0)
        money_by_channel[channel] = money_by_channel.get(channel, 0) + int(amount or 0)

    by_year = driven(ledger_rows(period))
    people_by_year = {int(k): v for k, v in _people_by(by_year, by_year.c.year).items()}
    years = [
        (str(y), _counts(money_by_year.get(y, 0), people_by_year.get(y, (0, 0, 0))))
        for y in sorted(set(money_by_year) | set(people_by_year))
    ]
    channel_rows = ledger_rows(period)
    by_channel = driven(channel_rows, channel_rows.c.channel)
    people_by_channel = _people_by(by_channel, by_channel.c.channel)
    channels = [
        (str(c), _counts(money_by_channel.get(c, 0), people_by_channel.get(c, (0, 0, 0))))
        for c in CHANNELS
    ]
    published, (year_rows, channel_rows_) = publish_tables(total, years, channels)
    return PublicImpact(published, year_rows, channel_rows_)


@dataclass(frozen=True)
class VendorMonth:
    amount: int  # fen, net of refunds, every channel
    households: int  # households whose net attribution through the vendor is positive


def vendor_period(vendor_id: int, period: Period) -> VendorMonth:
    """One vendor's sales and households driven in a period (its dashboard's month: a
    few attribution rows, read directly)."""
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
