"""Reading stock levels in tests (the app itself reads them through ``vendors.stock``)."""

from __future__ import annotations

from sqlalchemy import select

from catalog.models import Product
from marketplace.extensions import db
from vendors.locations import warehouse
from vendors.models import StockLevel


def level(product_id: int, location_id: int) -> StockLevel | None:
    """The product's on-hand and reserved at one location (None before any movement)."""
    return db.session.scalar(
        select(StockLevel).where(
            StockLevel.product_id == product_id, StockLevel.location_id == location_id
        )
    )


def warehouse_level(product_id: int) -> StockLevel | None:
    """The product's level at its own vendor's warehouse."""
    return level(product_id, warehouse(db.session.get(Product, product_id).vendor_id).id)
