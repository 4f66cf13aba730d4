"""Hypothesis strategies for hostile input, and the row counts of every table (issue 17,
item 4): shared by the bad-input tests of forms, imports, URLs and JSON bodies."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace.extensions import db

from ..conftest import on_postgres

SCRIPT = "<script>alert(17)</script>"

# The SQLite pass explores; the PostgreSQL pass (CI runs both) replays fewer examples,
# enough for what only PostgreSQL refuses (a NUL character, an out-of-range integer).
FUZZ = settings(
    max_examples=5 if on_postgres() else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

fragments = st.sampled_from(
    [
        "'; DROP TABLE users; --",
        "1 OR 1=1",
        '" OR ""="',
        SCRIPT,
        '"><img src=x onerror=alert(1)>',
        "=cmd|' /C calc'!A0",
        "+1+1",
        "@SUM(A1)",
        "\x00",
        "\u202e\u200f",
        "🍊🧧👨‍👩‍👧",
        "荔枝" * 600,
        "x" * 5000,
        " ",
        "",
        "%s%n%x",
        "../../etc/passwd",
        "NULL",
    ]
)
numbers = st.sampled_from(
    [
        "-1",
        "0",
        "-0",
        "1e9",
        "1e400",
        str(2**31),
        str(2**63),
        str(2**64),
        str(-(2**63) - 1),
        str(10**40),
        "NaN",
        "inf",
        "-inf",
        "3.14159",
        "0.001",
        "1,000",
        "١٢٣",  # Arabic-Indic digits
        "１２",  # full-width digits
        "²",
        "0x10",
        "12元",
    ]
)
dates = st.sampled_from(
    ["2026-02-30", "0000-00-00", "9999-12-31", "0001-01-01", "2026/13/01", "昨天", "1e9", "-1"]
)
any_text = st.text(max_size=60)
value = st.one_of(fragments, numbers, dates, any_text)


def row_counts() -> dict[str, int]:
    """Rows in every table of the metadata."""
    db.session.rollback()
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return counts
