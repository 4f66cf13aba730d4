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
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from marketplace.fragments import bump_after_commit
from orders.ledger.rollup import REPORTS_AREA, SALES_AREA

_BOTH = (SALES_AREA, REPORTS_AREA)
# table -> the cached areas whose figures read it
WATCHED: dict[str, tuple[str, ...]] = {
    "attributions": _BOTH,
    "sales_rollup": _BOTH,
    "households": _BOTH,  # members (person-times) and village (places, villages reached)
    "orders": (REPORTS_AREA,),  # order counts, shipping fees
    "refunds": (REPORTS_AREA,),
    "fairs": (REPORTS_AREA,),  # fairs held, fair names
    "certifications": (REPORTS_AREA,),  # certified products
    "products": (REPORTS_AREA,),  # names in the top lists
    "organizations": (REPORTS_AREA,),  # vendor and buyer names
    "districts": (REPORTS_AREA,),
    "towns": (REPORTS_AREA,),
    "villages": (REPORTS_AREA,),
}


def _mark(session: Session, table_name: str | None) -> None:
    for area in WATCHED.get(table_name or "", ()):
        bump_after_commit(session, area)


@event.listens_for(Session, "before_flush")
def _flushed(session: Session, flush_context, instances) -> None:
    for obj in session.new | session.deleted:
        _mark(session, getattr(obj, "__tablename__", None))
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _mark(session, getattr(obj, "__tablename__", None))


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        _mark(state.session, getattr(table, "name", None))
