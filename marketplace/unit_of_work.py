"""One commit per use case.

A service wraps its work in ``with unit_of_work():``. The outermost block commits on
success and rolls back on any exception; a nested block (a service calling another)
shares the caller's transaction and leaves the commit to it.

State changes are guarded (``lock_row``, ``transition``): a status read earlier in the
request is never what decides a write.

``after_commit`` lets a step deep inside a use case (the stock engine seeing a sold-out
product come back) ask for follow-up work (telling subscribers) that must run only once
the whole use case committed, in a transaction of its own, and never after a rollback.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from .extensions import db

T = TypeVar("T")
_depth: ContextVar[int] = ContextVar("unit_of_work_depth", default=0)
_AFTER_COMMIT = "unit_of_work_after_commit"  # session.info: {key: (callback, items)}
log = logging.getLogger(__name__)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    depth = _depth.get()
    token = _depth.set(depth + 1)
    try:
        yield db.session
        if depth == 0:
            db.session.commit()
    except BaseException:
        if depth == 0:
            db.session.rollback()
            db.session.info.pop(_AFTER_COMMIT, None)
        raise
    finally:
        _depth.reset(token)
    if depth == 0:
        _run_after_commit()


def after_commit(key: str, callback: Callable[[list], None], item: Any) -> None:
    """Collect ``item`` under ``key``; once the outermost unit of work commits, call
    ``callback(items)`` once with everything collected (sorted), outside that
    transaction. A rollback drops them. A callback that fails is logged: the work it
    follows is committed already and stays."""
    pending = db.session.info.setdefault(_AFTER_COMMIT, {})
    pending.setdefault(key, (callback, set()))[1].add(item)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    """A rollback anywhere (not only a unit of work's) drops what waited for a commit."""
    session.info.pop(_AFTER_COMMIT, None)


def _run_after_commit() -> None:
    pending = db.session.info.pop(_AFTER_COMMIT, None)
    for key, (callback, items) in sorted((pending or {}).items()):
        try:
            callback(sorted(items))
        except Exception:
            db.session.rollback()
            log.exception("after-commit work %s failed", key)


def lock_row(model: type[T], row_id: int) -> T | None:
    """The row, locked until the transaction ends (``SELECT ... FOR UPDATE``) and read
    afresh: an instance this request loaded earlier is overwritten with what the database
    holds now (``populate_existing``), so a change another request committed while this
    one waited for the lock is seen, never undone from stale memory."""
    return db.session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def transition(obj: Any, expected: str | Iterable[str], /, **values: Any) -> bool:
    """Move ``obj``'s row from an expected status to ``values`` with one conditional
    ``UPDATE ... WHERE id = ? AND status IN (expected)``; True when this call made the
    change. Of two concurrent requests exactly one gets True, on PostgreSQL (the loser
    waits for the winner's row lock, then finds the status changed) as on SQLite (where
    row locks do nothing). ``obj`` is re-read either way, so the caller goes on with the
    row as it now is, never with a copy loaded earlier in the request."""
    model = type(obj)
    statuses = [expected] if isinstance(expected, str) else list(expected)
    db.session.flush()  # the refresh below must not drop changes made before
    result = db.session.execute(
        update(model)
        .where(model.id == obj.id, model.status.in_(statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(obj)
    return result.rowcount == 1
