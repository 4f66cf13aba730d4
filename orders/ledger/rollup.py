"""The sales rollup (``SalesRollup``): the attribution rows summed per month and per
everything a report groups by, and again per year (without the fair), kept in step with
them and rebuilt from them.

``add`` counts attribution rows as they are written (a paid batch, a refund) into the
session; the sums go into the table just before that transaction commits, by one upsert
per key (``amount = amount + delta``), keys in a fixed order. Written last, the rollup's
row locks are the last ones any transaction takes, so two concurrent sales of one
product wait for each other there and never deadlock with the stock rows; a rollback
drops them with everything else. ``rebuild`` recomputes the table from the attribution
rows in one statement (``flask report rebuild-rollup``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Date, cast, delete, event, func, insert, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.bulk import ROWS_PER_INSERT, WRITTEN_KEY, chunks
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.fragments import bump_after_commit
from marketplace.unit_of_work import unit_of_work
from orders.ledger.models import (
    MONTH_ROWS,
    ROLLUP_KEY,
    YEAR_ROWS,
    Attribution,
    Order,
    SalesRollup,
)

KEY = ROLLUP_KEY
_PENDING = "sales_rollup_pending"  # session.info: {key: fen} to add before commit
# cached figures computed from the ledger (marketplace.fragments), dropped once a
# transaction that adds to the rollup commits (orders.reports.freshness)
SALES_AREA = "sales"  # /impact, the home counter, a product's sold count
REPORTS_AREA = "reports"  # the bureau's dashboard
# the dashboard's figures over the months before the current one (closed months, which
# today's sales never change): dropped only by a write dated in such a month (a sale
# dated back, a refund of an earlier month's sale, an import) or one whose date is not
# known (``dated``, orders.reports.freshness)
CLOSED_AREA = "reports_closed"
_DATED = "ledger_dated"  # session.info: the sale dates the writes in ``dated`` carry


def closed_before() -> date:
    """The first day of the current month: sales dated before it are in closed months."""
    return local_today().replace(day=1)


def touches_closed(days) -> bool:
    """Whether a write of sales dated ``days`` changes a closed month."""
    start = closed_before()
    return any(day is not None and day < start for day in days)


@contextmanager
def dated(days) -> Iterator[None]:
    """Within the block, the session's statements writing orders carry sales dated
    ``days`` only (a paid batch): they drop the closed months' figures only when one of
    those days is in a closed month. Outside it such a statement always drops them."""
    session = db.session()
    previous = session.info.get(_DATED)
    session.info[_DATED] = frozenset(days) | (previous or frozenset())
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(_DATED, None)
        else:
            session.info[_DATED] = previous


def dated_days(session: Session) -> frozenset | None:
    """The days the current ``dated`` block declared, None outside one."""
    return session.info.get(_DATED)


def add(rows: Sequence[dict]) -> None:
    """Count attribution rows (the dicts inserted into ``attributions``) into the rollup
    when the caller's transaction commits."""
    if not rows:
        return
    for area in (SALES_AREA, REPORTS_AREA):
        bump_after_commit(db.session(), area)
    if touches_closed(row["sale_date"] for row in rows):
        bump_after_commit(db.session(), CLOSED_AREA)
    # an import collecting the tables it writes (to ANALYZE them once committed): the
    # rollup is written at the commit, after it stopped listening
    written = db.session.info.get(WRITTEN_KEY)
    if written is not None:
        written.add(SalesRollup.__tablename__)
    orders: dict[int, tuple[int, int, str]] = {}
    for chunk in chunks(sorted({row["order_id"] for row in rows})):
        for order_id, fair_id, org_id, name in db.session.execute(
            select(Order.id, Order.fair_id, Order.buyer_org_id, Order.buyer_name).where(
                Order.id.in_(chunk)
            )
        ):
            orders[order_id] = (fair_id or 0, org_id or 0, name or "")
    pending: dict[tuple, int] = db.session.info.setdefault(_PENDING, defaultdict(int))
    starts: dict[date, tuple[date, date]] = {}  # a day's month and year (an import: 365 days)
    for row in rows:
        fair_id, org_id, name = orders[row["order_id"]]
        day, amount = row["sale_date"], row["amount"]
        start = starts.get(day)
        if start is None:
            start = starts[day] = (day.replace(day=1), date(day.year, 1, 1))
        rest = (
            row["product_id"],
            row["vendor_id"],
            row["household_id"] or 0,
            row["village_id"] or 0,
            bool(row["certified"]),
        )
        month = (MONTH_ROWS, start[0], row["channel"], *rest, fair_id, org_id, name)
        year = (YEAR_ROWS, start[1], row["channel"], *rest, 0, org_id, name)
        pending[month] += amount
        pending[year] += amount


BULK_KEYS = 1000  # from this many keys on (an import), PostgreSQL takes them by COPY


def _upsert(session: Session, pending: dict[tuple, int]) -> None:
    table = SalesRollup.__table__
    dialect = session.connection().dialect.name
    if dialect == "postgresql" and len(pending) >= BULK_KEYS:
        _upsert_copied(session, pending)
        return
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in KEY],
        set_={"amount": table.c.amount + stmt.excluded.amount},
    )
    values = [
        {**dict(zip(KEY, key, strict=True)), "amount": amount}
        for key, amount in sorted(pending.items())
    ]
    for chunk in chunks(values, ROWS_PER_INSERT):
        session.execute(stmt, list(chunk))


def _upsert_copied(session: Session, pending: dict[tuple, int]) -> None:
    """An import's thousands of keys: COPY into a temporary table, then one upsert from
    it in key order (an executemany of 100,000 upserts takes ten times longer)."""
    names = ", ".join([*KEY, "amount"])
    session.execute(
        text(
            "CREATE TEMPORARY TABLE sales_rollup_delta ON COMMIT DROP AS "
            f"SELECT {names} FROM sales_rollup WITH NO DATA"
        )
    )
    cursor_owner = session.connection().connection.driver_connection
    with (
        cursor_owner.cursor() as cursor,
        cursor.copy(f"COPY sales_rollup_delta ({names}) FROM STDIN") as copy,
    ):
        for key, amount in pending.items():
            copy.write_row([*key, amount])
    keys = ", ".join(KEY)
    session.execute(
        text(
            f"INSERT INTO sales_rollup ({names}) SELECT {names} FROM sales_rollup_delta "
            f"ORDER BY {keys} ON CONFLICT ({keys}) "
            "DO UPDATE SET amount = sales_rollup.amount + excluded.amount"
        )
    )
    session.execute(text("DROP TABLE sales_rollup_delta"))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _upsert(session, pending)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def month_start(column):
    """The first day of ``column``'s month, in SQL (PostgreSQL or SQLite)."""
    if db.session.connection().dialect.name == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, literal_column("'start of month'"))


def year_start(column):
    """1 January of ``column``'s year, in SQL (PostgreSQL or SQLite)."""
    if db.session.connection().dialect.name == "postgresql":
        return cast(func.date_trunc("year", column), Date)
    return func.date(column, literal_column("'start of year'"))


def rebuild() -> int:
    """Recompute the whole rollup from the attribution rows, in one transaction (on
    PostgreSQL paid sales and refunds committing meanwhile wait for it, then add
    theirs); the number of rollup rows."""
    with unit_of_work():
        for area in (SALES_AREA, REPORTS_AREA, CLOSED_AREA):
            bump_after_commit(db.session(), area)
        if db.session.connection().dialect.name == "postgresql":
            db.session.execute(text("LOCK TABLE sales_rollup IN EXCLUSIVE MODE"))
        db.session.execute(delete(SalesRollup))
        for span in (MONTH_ROWS, YEAR_ROWS):
            db.session.execute(
                insert(SalesRollup).from_select([*KEY, "amount"], rollup_select(span))
            )
        count = db.session.scalar(select(func.count()).select_from(SalesRollup))
    return int(count or 0)


def rollup_select(span: str):
    """The rollup's rows of one span computed from the attribution rows (what
    ``rebuild`` writes)."""
    if span == MONTH_ROWS:
        start, fair = month_start(Attribution.sale_date), func.coalesce(Order.fair_id, 0)
    else:
        start, fair = year_start(Attribution.sale_date), None
    keys = [
        start,
        Attribution.channel,
        Attribution.product_id,
        Attribution.vendor_id,
        func.coalesce(Attribution.household_id, 0),
        func.coalesce(Attribution.village_id, 0),
        Attribution.certified,
        func.coalesce(Order.buyer_org_id, 0),
        func.coalesce(Order.buyer_name, literal_column("''")),
    ]
    if fair is not None:
        keys.insert(7, fair)
    # the constants are selected, never grouped by (SQLite reads a number there as a
    # column position)
    constants = [literal_column(f"'{span}'").label("span")]
    if fair is None:
        constants.append(literal_column("0").label("fair_id"))
    selected = [constants[0], *keys[:7], *constants[1:], *keys[7:]]
    return (
        select(*selected, func.sum(Attribution.amount))
        .select_from(Attribution)
        .join(Order, Order.id == Attribution.order_id)
        .group_by(*keys)
    )
