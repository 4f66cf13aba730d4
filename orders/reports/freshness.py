"""What makes cached report figures stale, and the generation bumps that drop them.

The bureau's dashboard (``REPORTS_AREA``), /impact and the home counter (``SALES_AREA``)
are cached per period with ``marketplace.fragments.cached``: a generation number in the
key, bumped once the transaction that changed what they show commits. Instead of a
bump in every service that might touch a table the reports read, the session itself is
watched: any ORM flush (insert, update, delete of a mapped object) or any
``INSERT``/``UPDATE``/``DELETE`` statement executed through the session on one of the
``WATCHED`` tables bumps its areas after the commit (nothing on a rollback). Paid
sales, refunds and imports also bump through the rollup (``orders.ledger.rollup.add``),
which every writer of attribution rows calls, even when it writes them past the ORM.

The dashboard's closed months (``CLOSED_AREA``: what it computes over the months before
the current one) read only the orders, the attribution rows and the rollup, and are
dropped only by a write that may change a month before the current one: attribution
rows and rollup sums dated there (``rollup.add`` and ``rollup.rebuild`` say so), an
order object flushed whose counted columns change while it is paid and dated there
(its old or new state), and any statement on the orders outside a ``rollup.dated`` block
or inside one declaring such a date. Writes to what the ledger's rows are joined
to (households, fairs, names, places) drop them too. A sale paid today drops only the
dashboard's figures (``REPORTS_AREA``), whose closed part then comes from the cache; a
dashboard period that ends before the current month is cached under ``CLOSED_AREA``
alone, so today's sales never drop it.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from marketplace.fragments import bump_after_commit
from orders.ledger.models import PAID_STATUSES, Attribution, Order, SalesRollup
from orders.ledger.rollup import (
    CLOSED_AREA,
    REPORTS_AREA,
    SALES_AREA,
    closed_before,
    dated_days,
    touches_closed,
)

_BOTH = (SALES_AREA, REPORTS_AREA)
# what the ledger's rows are joined to: read by the closed months' figures too (a
# dashboard period wholly before the current month is cached under CLOSED_AREA)
_NAMES = (REPORTS_AREA, CLOSED_AREA)
# table -> the cached areas whose figures read it (the ledger's own tables drop the
# closed months' figures by their dates: below)
WATCHED: dict[str, tuple[str, ...]] = {
    "attributions": _BOTH,
    "sales_rollup": _BOTH,
    # members (person-times) and village (places, villages reached)
    "households": (*_BOTH, CLOSED_AREA),
    "orders": (REPORTS_AREA,),  # order counts, shipping fees
    "refunds": (REPORTS_AREA,),
    "fairs": _NAMES,  # fairs held, fair names
    "certifications": _NAMES,  # certified products
    "products": _NAMES,  # names in the top lists
    "organizations": _NAMES,  # vendor and buyer names
    "districts": _NAMES,
    "towns": _NAMES,
    "villages": _NAMES,
}


# an order's columns the closed months' figures read (order counts, shipping)
_COUNTED = (
    "status",
    "sale_date",
    "channel",
    "total",
    "refunded",
    "shipping_fen",
    "shipping_refunded_fen",
)


def _mark(session: Session, table_name: str | None) -> None:
    for area in WATCHED.get(table_name or "", ()):
        bump_after_commit(session, area)


def _states(obj, names: tuple[str, ...], deleted: bool) -> tuple[dict, dict] | None:
    """The object's (old, new) values of ``names`` as the flush changes them (``deleted``:
    it deletes the object); None when one of them is not loaded (unknown)."""
    state = inspect(obj)
    # a new object's columns not set take their defaults (a NULL date, no status yet)
    if not state.pending and any(name in state.unloaded for name in names):
        return None
    old, new = {}, {}
    for name in names:
        if name in state.unloaded:
            old[name] = new[name] = None
            continue
        history = state.attrs[name].history
        now = (history.added or history.unchanged or [None])[0]
        new[name] = now
        old[name] = history.deleted[0] if history.deleted else now
    if state.pending:  # inserted: no old row
        old = {name: None for name in names}
    if deleted:  # no new row
        new = {name: None for name in names}
    return old, new


def _changes_closed(obj, deleted: bool = False) -> bool:
    """Whether flushing ``obj`` (``deleted``: deleting it) may change a figure of the
    closed months."""
    if isinstance(obj, Order):
        found = _states(obj, _COUNTED, deleted)
        if found is None:
            return True
        old, new = found
        if old == new:
            return False
        start = closed_before()
        return any(
            row["status"] in PAID_STATUSES
            and row["sale_date"] is not None
            and row["sale_date"] < start
            for row in (old, new)
        )
    if isinstance(obj, Attribution | SalesRollup):
        name = "sale_date" if isinstance(obj, Attribution) else "month"
        found = _states(obj, (name,), deleted)
        return found is None or touches_closed(row[name] for row in found)
    return False


@event.listens_for(Session, "before_flush")
def _flushed(session: Session, flush_context, instances) -> None:
    for obj in session.new:
        _mark(session, getattr(obj, "__tablename__", None))
        if _changes_closed(obj):
            bump_after_commit(session, CLOSED_AREA)
    for obj in session.deleted:
        _mark(session, getattr(obj, "__tablename__", None))
        if _changes_closed(obj, deleted=True):
            bump_after_commit(session, CLOSED_AREA)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _mark(session, getattr(obj, "__tablename__", None))
            if _changes_closed(obj):
                bump_after_commit(session, CLOSED_AREA)


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        _mark(state.session, name)
        # attribution rows and rollup sums: rollup.add and rollup.rebuild know their dates
        if name == Order.__tablename__:
            days = dated_days(state.session)
            if days is None or touches_closed(days):
                bump_after_commit(state.session, CLOSED_AREA)
