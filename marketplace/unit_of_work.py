"""One commit per use case.

A service wraps its work in ``with unit_of_work():``. The outermost block commits on
success and rolls back on any exception; a nested block (a service calling another)
shares the caller's transaction and leaves the commit to it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy.orm import Session

from .extensions import db

_depth: ContextVar[int] = ContextVar("unit_of_work_depth", default=0)


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
        raise
    finally:
        _depth.reset(token)
