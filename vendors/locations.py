"""Stock location rows: which row is a vendor's warehouse, its stall at a fair, or its
goods at a store counter, found in bulk and created on first use.

A location is known by its key (vendor id, kind, place_ref); creating one is an INSERT
... ON CONFLICT DO NOTHING followed by a select, so two requests (two imports, two
buyers) creating the same location at once both get the one row.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.models import Product
from marketplace.bulk import chunks
from marketplace.errors import NotFound
from marketplace.extensions import db

from .models import LocationKind, StockLocation

WAREHOUSE_NAME = "仓库"

LocationKey = tuple[int, str, int | None]  # (vendor id, kind, place_ref)


def insert_ignore(model, values: dict, keys: list[str] | None = None) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: safe when two requests create the same row."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))


def insert_ignore_many(model, rows: list[dict], keys: list[str]) -> None:
    """``insert_ignore`` for many rows (one executemany per chunk)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for chunk in chunks(rows):
        db.session.execute(insert(model).on_conflict_do_nothing(index_elements=keys), chunk)


def vendors_of(product_ids: Iterable[int]) -> dict[int, int]:
    """``{product id: vendor id}`` in one query per chunk; an unknown product is NotFound."""
    ids = sorted(set(product_ids))
    found: dict[int, int] = {}
    for chunk in chunks(ids):
        found.update(
            db.session.execute(
                select(Product.id, Product.vendor_id).where(Product.id.in_(chunk))
            ).all()
        )
    if len(found) != len(ids):
        raise NotFound()
    return found


def find(keys: Iterable[LocationKey]) -> dict[LocationKey, int]:
    """The location ids of those keys that exist (nothing is created)."""
    keys = set(keys)
    warehouses = sorted(vendor_id for vendor_id, _kind, ref in keys if ref is None)
    others = sorted(key for key in keys if key[2] is not None)
    found: dict[LocationKey, int] = {}
    for chunk in chunks(warehouses):
        for vendor_id, location_id in db.session.execute(
            select(StockLocation.vendor_id, StockLocation.id).where(
                StockLocation.kind == LocationKind.WAREHOUSE, StockLocation.vendor_id.in_(chunk)
            )
        ):
            found[(vendor_id, LocationKind.WAREHOUSE.value, None)] = location_id
    place = tuple_(StockLocation.vendor_id, StockLocation.kind, StockLocation.place_ref)
    for chunk in chunks(others):
        for vendor_id, kind, ref, location_id in db.session.execute(
            select(
                StockLocation.vendor_id,
                StockLocation.kind,
                StockLocation.place_ref,
                StockLocation.id,
            ).where(place.in_(chunk))
        ):
            found[(vendor_id, kind, ref)] = location_id
    return found


def _default_name(kind: str, ref: int | None) -> str:
    if kind == LocationKind.WAREHOUSE:
        return WAREHOUSE_NAME
    return f"{'集市' if kind == LocationKind.FAIR else '专柜'} #{ref}"


def find_or_create(names: dict[LocationKey, str | None]) -> dict[LocationKey, int]:
    """The location id of every key, creating the missing ones, named from ``names``
    (a default name where None). Inserts go in key order, so two transactions creating
    the same locations wait for each other instead of deadlocking."""
    found = find(names)
    missing = sorted(set(names) - found.keys(), key=lambda k: (k[0], k[1], k[2] or 0))
    for vendor_id, kind, ref in missing:
        insert_ignore(
            StockLocation,
            {
                "vendor_id": vendor_id,
                "kind": kind,
                "place_ref": ref,
                "name": (names[(vendor_id, kind, ref)] or _default_name(kind, ref))[:200],
                "active": True,
            },
        )
    if missing:
        found.update(find(missing))
    return found


def warehouse_key(vendor_id: int) -> LocationKey:
    return (vendor_id, LocationKind.WAREHOUSE.value, None)


def warehouse(vendor_id: int) -> StockLocation:
    """The vendor's warehouse location, created on first use."""
    key = warehouse_key(vendor_id)
    return db.session.get(StockLocation, find_or_create({key: None})[key])
