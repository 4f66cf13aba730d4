"""Short-lived caching of public page fragments, invalidated by generation.

A fragment's key carries its area's generation number; a service that changes what the
fragment shows calls ``bump(area)`` and every cached fragment of that area is bypassed at
once, on every node (the generation lives in the shared cache). The timeout bounds what
any path that forgets to bump can show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import cache

TIMEOUT = 60  # seconds
T = TypeVar("T")
log = logging.getLogger(__name__)

# When the shared cache (Redis) is down, pages are rendered afresh for every request and
# business changes go on: the cache only ever saves work. The outage is logged once a
# minute per process, not once per request.
_OUTAGE_LOG_EVERY = 60.0
_last_outage_log = 0.0


class CacheDown(Exception):
    """The shared cache did not answer."""


def _outage(what: str, exc: Exception) -> None:
    global _last_outage_log
    now = time.monotonic()
    if now - _last_outage_log >= _OUTAGE_LOG_EVERY:
        _last_outage_log = now
        log.warning("page cache unavailable (%s: %s); serving without it", what, exc)


def _get(key: str):
    try:
        return cache.get(key)
    except Exception as exc:
        _outage("get", exc)
        raise CacheDown from exc


def _set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as exc:
        _outage("set", exc)


def generation(area: str) -> int:
    """The area's generation; ``CacheDown`` when the cache does not answer."""
    value = _get(f"gen:{area}")
    if value is None:
        value = 1
        _set(f"gen:{area}", value, timeout=0)
    return int(value)


def generations(areas: Sequence[str]) -> str:
    """The generations of several areas in one round trip to the cache, as one key part
    (``"3.7"``): a fragment that shows what more than one area changes is bypassed when
    any of them is bumped. ``CacheDown`` when the cache does not answer."""
    if len(areas) == 1:
        return str(generation(areas[0]))
    try:
        found = cache.get_many(*(f"gen:{area}" for area in areas))
    except Exception as exc:
        _outage("get", exc)
        raise CacheDown from exc
    parts = []
    for area, value in zip(areas, found, strict=True):
        if value is None:
            value = 1
            _set(f"gen:{area}", value, timeout=0)
        parts.append(str(int(value)))
    return ".".join(parts)


def bump(area: str) -> None:
    """Invalidate every cached fragment of ``area`` (call after the change commits)."""
    try:
        cache.set(f"gen:{area}", generation(area) + 1, timeout=0)
    except Exception as exc:  # a cache outage must never undo or block a business change
        _outage(f"bump of {area}", exc)


_PENDING = "fragments_bump_after_commit"  # session.info: areas to bump when it commits


def bump_after_commit(session: Session, area: str) -> None:
    """``bump(area)`` once ``session``'s transaction commits (nothing if it rolls back):
    for a change made inside a caller's transaction, such as a paid sale, so no reader
    can cache the old figures again between the bump and the commit."""
    session.info.setdefault(_PENDING, set()).add(area)


@event.listens_for(Session, "after_commit")
def _bump_pending(session: Session) -> None:
    for area in sorted(session.info.pop(_PENDING, ())):
        bump(area)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def fragment(
    area: str | Sequence[str], key: str, render: Callable[[], str], timeout: int = TIMEOUT
) -> Markup:
    """The cached HTML for ``key`` in ``area`` (or in several areas: dropped when any of
    them is bumped), rendering and storing it when missing."""
    areas = (area,) if isinstance(area, str) else tuple(area)
    try:
        full_key = f"frag:{'+'.join(areas)}:{generations(areas)}:{key}"
        html = _get(full_key)
    except CacheDown:
        return Markup(str(render()))
    if html is None:
        html = str(render())
        _set(full_key, html, timeout)
    return Markup(html)


def cached(area: str, key: str, compute: Callable[[], T], timeout: int = TIMEOUT) -> T:
    """``fragment`` for a value (figures a page renders, the same for every visitor):
    computed when missing, invalidated with its area."""
    try:
        full_key = f"value:{area}:{generation(area)}:{key}"
        found = _get(full_key)
    except CacheDown:
        return compute()
    if found is None:
        found = compute()
        _set(full_key, found, timeout)
    return found
