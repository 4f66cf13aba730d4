"""The clock and the local calendar (DESIGN.md, "Time").

Timestamps are stored as naive UTC. Every date a person sees and every reporting date (a
sale's date, "today" for certification checks and public pages, the date in an order
number) is the local date in the configured zone (``TIMEZONE``, Asia/Shanghai by default):
an order paid at 00:30 on 1 December in Beijing is a December sale, although it is still
30 November in UTC. These helpers are the one place that turns one into the other.

Tests move the clock with ``monkeypatch.setattr(clock, "_now", lambda: aware_utc)``:
every ``utcnow()`` (column defaults included) and ``local_today()`` follow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"
# the calendar the app accepts from people (filters, periods): wide enough for any real
# date, narrow enough that converting a day to UTC never leaves datetime's range
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def _now() -> datetime:
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the database stores."""
    return _now().astimezone(UTC).replace(tzinfo=None)


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def to_local(moment: datetime) -> datetime:
    """A stored timestamp (naive UTC, or aware) as an aware datetime in the local zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(local_zone())


def local_date(moment: datetime) -> date:
    """The local calendar date of a stored timestamp: the reporting date of a sale."""
    return to_local(moment).date()


def local_today() -> date:
    """Today in the local zone."""
    return local_date(utcnow())


def day_start_utc(day: date) -> datetime:
    """Local midnight at the start of ``day``, as naive UTC (``[start(d), start(d+1))`` is
    the whole local day, for filtering stored timestamps). ``day`` is clamped to
    ``EARLIEST``..``LATEST``."""
    day = clamp_date(day)
    local_midnight = datetime.combine(day, time.min, tzinfo=local_zone())
    return local_midnight.astimezone(UTC).replace(tzinfo=None)


def day_end_utc(day: date) -> datetime:
    """Local midnight at the end of ``day`` (the start of the next), as naive UTC."""
    return day_start_utc(clamp_date(day) + timedelta(days=1))


def clamp_date(day: date) -> date:
    return min(max(day, EARLIEST), LATEST)
