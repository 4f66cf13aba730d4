"""What every sales report reads: the ledger's rows for a period, as one subquery.

The rows come from the sales rollup (``orders.ledger.rollup``: the attribution rows
summed per month and report key) for the whole months of the period, and from the
attribution rows themselves for the days of a month the period only partly covers; so
any period is exact, and a period of whole months (a year, "everything") reads the
rollup alone. ``raw_rows()`` makes every report read the attribution rows instead (the
definition the rollup is tested against). A page running many reports over one period
that cuts months reads its rows once into a temporary table (``materialized``).

Each row has: ``year``, ``month`` (of the sale date), ``channel``, ``product_id``,
``vendor_id``, ``household_id`` and ``village_id`` (NULL: the unattributed part),
``certified``, ``fair_id``, ``buyer_org_id``, ``buyer_name`` (the order's, NULL when
none) and ``amount`` (fen, net: refunds are negative rows).

A household is *driven* in a group when its net amount through that group in some
calendar year of the period is positive (``driven``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    extract,
    func,
    literal_column,
    null,
    select,
    text,
    union_all,
)

from marketplace.extensions import db
from orders.ledger.models import MONTH_ROWS, YEAR_ROWS, Attribution, Order, SalesRollup

_RAW: ContextVar[bool] = ContextVar("reports_raw_rows", default=False)
# (period, temporary table) while ``materialized`` holds that period's rows
_HELD: ContextVar[tuple | None] = ContextVar("reports_materialized", default=None)


def period_clause(column, date_from: date | None, date_to: date | None):
    conditions = []
    if date_from is not None:
        conditions.append(column >= date_from)
    if date_to is not None:
        conditions.append(column <= date_to)
    return and_(True, *conditions)


@dataclass(frozen=True)
class Period:
    """Sale dates from ``date_from`` to ``date_to``, both inclusive; None = open."""

    date_from: date | None = None
    date_to: date | None = None

    def clause(self, column=Attribution.sale_date):
        return period_clause(column, self.date_from, self.date_to)


@contextmanager
def raw_rows() -> Iterator[None]:
    """Within the block, reports read every attribution row instead of the rollup."""
    token = _RAW.set(True)
    try:
        yield
    finally:
        _RAW.reset(token)


def cuts_months(period: Period) -> bool:
    """Whether the period covers part of some month (whose days come from the
    attribution rows)."""
    date_from, date_to = period.date_from, period.date_to
    if date_from is not None and date_from.day != 1:
        return True
    return date_to is not None and date_to < date.max and (date_to + timedelta(days=1)).day != 1


def without_jit() -> None:
    """On PostgreSQL, no JIT compilation for the rest of the transaction (a read
    request's): a report's statements cost enough to cross ``jit_above_cost``, and
    compiling them took longer than running them (260 ms of 890 on the bench data)."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


_TYPES = {
    "year": Integer(),
    "month": Integer(),
    "channel": String(20),
    "product_id": BigInteger(),
    "vendor_id": BigInteger(),
    "household_id": BigInteger(),
    "village_id": BigInteger(),
    "certified": Boolean(),
    "fair_id": BigInteger(),
    "buyer_org_id": BigInteger(),
    "buyer_name": String(200),
    "amount": BigInteger(),
}


def _read_only() -> bool:
    """A read-only transaction (a PostgreSQL standby: reports on a read replica) cannot
    create the temporary table; the reports then read the rows as usual."""
    if db.session.connection().dialect.name != "postgresql":
        return False
    return db.session.scalar(text("SELECT current_setting('transaction_read_only')")) == "on"


@contextmanager
def materialized(period: Period) -> Iterator[None]:
    """Within the block, every report of ``period`` reads its rows from a temporary
    table filled once, grouped per month and report key, instead of from the rollup and
    the attribution rows of its partial months again in every query (a page such as the
    dashboard runs a dozen). Only for a period that cuts months, in a transaction that
    may write; dropped at the end."""
    if _RAW.get() or _HELD.get() is not None or not cuts_months(period) or _read_only():
        yield
        return
    rows = ledger_rows(period, orders=True, monthly=True)
    keys = [c for c in rows.c if c.name != "amount"]
    table = Table(
        f"report_rows_{secrets.token_hex(6)}",
        MetaData(),
        *[Column(c.name, _TYPES[c.name]) for c in rows.c],
        prefixes=["TEMPORARY"],
    )
    connection = db.session.connection()
    table.create(connection)
    try:
        db.session.execute(
            table.insert().from_select(
                [c.name for c in rows.c],
                select(*keys, func.sum(rows.c.amount)).group_by(*keys),
            )
        )
        token = _HELD.set((period, table))
        try:
            yield
        finally:
            _HELD.reset(token)
    finally:
        table.drop(connection)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _raw(date_from: date | None, date_to: date | None, orders: bool = True):
    a = Attribution
    if orders:
        fair_id, buyer_org_id, buyer_name = Order.fair_id, Order.buyer_org_id, Order.buyer_name
    else:  # not asked for: spare the join with every order
        fair_id = buyer_org_id = cast(null(), BigInteger)
        buyer_name = cast(null(), String(200))
    stmt = select(
        extract("year", a.sale_date).label("year"),
        extract("month", a.sale_date).label("month"),
        a.channel.label("channel"),
        a.product_id.label("product_id"),
        a.vendor_id.label("vendor_id"),
        a.household_id.label("household_id"),
        a.village_id.label("village_id"),
        a.certified.label("certified"),
        fair_id.label("fair_id"),
        buyer_org_id.label("buyer_org_id"),
        buyer_name.label("buyer_name"),
        a.amount.label("amount"),
    ).where(period_clause(a.sale_date, date_from, date_to))
    return stmt.join(Order, Order.id == a.order_id) if orders else stmt


def _rolled(first: date | None, end: date | None, span: str):
    """Rollup rows of one span (``MONTH_ROWS`` or ``YEAR_ROWS``) from the month
    ``first`` up to (not including) the month ``end``."""
    r = SalesRollup
    where = [r.span == span]
    if first is not None:
        where.append(r.month >= first)
    if end is not None:
        where.append(r.month < end)
    return select(
        extract("year", r.month).label("year"),
        extract("month", r.month).label("month"),
        r.channel.label("channel"),
        r.product_id.label("product_id"),
        r.vendor_id.label("vendor_id"),
        func.nullif(r.household_id, 0).label("household_id"),
        func.nullif(r.village_id, 0).label("village_id"),
        r.certified.label("certified"),
        func.nullif(r.fair_id, 0).label("fair_id"),
        func.nullif(r.buyer_org_id, 0).label("buyer_org_id"),
        func.nullif(r.buyer_name, literal_column("''")).label("buyer_name"),
        r.amount.label("amount"),
    ).where(*where)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def ledger_rows(
    period: Period, name: str = "ledger", *, orders: bool = False, monthly: bool = False
):
    """The period's rows (see the module's docstring) as a subquery.

    Whole calendar years come from the rollup's year rows (a twelfth of the month rows:
    the dashboard's usual periods, a year or everything) unless ``monthly`` asks for
    each row's month and fair (year rows have neither: ``month`` is 1, ``fair_id``
    NULL); the other whole months from its month rows; the days of cut months from the
    attribution rows, whose order columns (``fair_id``, ``buyer_org_id``,
    ``buyer_name``) are NULL unless ``orders`` asks for them (a join with the orders)."""
    date_from, date_to = period.date_from, period.date_to
    if _RAW.get():
        return _raw(date_from, date_to, orders).subquery(name)
    held = _HELD.get()
    if held is not None and held[0] == period:
        return select(held[1]).subquery(name)  # every column asked for, or more
    # the whole months: from the first month starting in the period to the month after
    # the last one ending in it
    first = None
    if date_from is not None:
        if date_from.day != 1 and date_from >= date.max.replace(day=1):
            return _raw(date_from, date_to, orders).subquery(name)  # no whole month
        first = date_from if date_from.day == 1 else _next_month(date_from)
    end = None  # the last day of time ends a month: open
    if date_to is not None and date_to < date.max:
        end = (
            _next_month(date_to)
            if (date_to + timedelta(days=1)).day == 1
            else _month_start(date_to)
        )
    if first is not None and end is not None and first >= end:
        return _raw(date_from, date_to, orders).subquery(name)  # no whole month
    parts = []
    # the whole years among them (none when the first whole month is in the last year)
    year_first = first
    if first is not None and first.month != 1:
        year_first = date(first.year + 1, 1, 1) if first.year < date.max.year else date.max
    year_end = end if end is None or end.month == 1 else date(end.year, 1, 1)
    if not monthly and (year_first is None or year_end is None or year_first < year_end):
        parts.append(_rolled(year_first, year_end, YEAR_ROWS))
        if first is not None and first < year_first:
            parts.append(_rolled(first, year_first, MONTH_ROWS))
        if end is not None and year_end < end:
            parts.append(_rolled(year_end, end, MONTH_ROWS))
    else:
        parts.append(_rolled(first, end, MONTH_ROWS))
    if date_from is not None and date_from < first:
        parts.append(_raw(date_from, first - timedelta(days=1), orders))
    if date_to is not None and end is not None and date_to >= end:
        parts.append(_raw(end, date_to, orders))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(name)


def driven(rows, *keys):
    """(keys..., household_id, year) with a positive net amount in that group and
    calendar year over ``rows`` (a ``ledger_rows`` subquery): the households a group
    drove, as a subquery. ``keys`` are columns of ``rows``."""
    return (
        select(*keys, rows.c.household_id.label("household_id"), rows.c.year.label("year"))
        .where(rows.c.household_id.is_not(None))
        .group_by(*keys, rows.c.household_id, rows.c.year)
        .having(func.sum(rows.c.amount) > 0)
        .subquery()
    )
