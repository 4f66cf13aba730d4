"""Bulk work for imports and batches: many rows in the caller's transaction, without ORM
objects, and the one way to cut a long list into pieces a statement can take."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from psycopg.types.json import Json
from sqlalchemy import JSON, Table, func, insert, select, text

from .extensions import db

T = TypeVar("T")

KEYS_PER_QUERY = 2000  # keys per IN (...) list: well under every database's parameter limit
ROWS_PER_INSERT = 5000  # rows per executemany
WRITTEN_KEY = "tables_written"  # session.info: a set collecting the tables written, if any


def chunks(items: Sequence[T], size: int = KEYS_PER_QUERY) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (an IN list, an executemany)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(table: Table, rows: Sequence[dict]) -> None:
    """Insert many rows (dicts with the same keys, every value given) in the caller's
    transaction: COPY on PostgreSQL, a Core executemany elsewhere; no ORM objects."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        for chunk in chunks(rows, ROWS_PER_INSERT):
            db.session.execute(insert(table), list(chunk))
        return
    # COPY runs on the driver's cursor, out of SQLAlchemy's sight: name the table to an
    # import collecting the tables it wrote (marketplace.importing analyzes them)
    written = db.session.info.get(WRITTEN_KEY)
    if written is not None:
        written.add(table.name)
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    # a JSON column's value goes as the text SQLAlchemy's JSON type would send (json.dumps)
    json_columns = [c for c in columns if isinstance(table.c[c].type, JSON)]
    with (
        connection.connection.driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        if not json_columns:
            for row in rows:
                copy.write_row([row[c] for c in columns])
            return
        for row in rows:
            copy.write_row(
                [
                    Json(row[c]) if c in json_columns and row[c] is not None else row[c]
                    for c in columns
                ]
            )


def allocate_ids(table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, so rows can be bulk-inserted with their
    ids known (and their children pointed at them) without a RETURNING per row.

    PostgreSQL draws them from the table's sequence. SQLite takes the ones after the
    largest: only call it after the transaction has written something, so SQLite's write
    lock keeps every other writer out until commit."""
    if count <= 0:
        return []
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return list(
            db.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": count},
            )
        )
    last = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(last + 1, last + 1 + count))
