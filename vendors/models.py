"""Stock: locations (a vendor's warehouse, a fair, a counter), on-hand and reserved
quantities per product and location, and the movement ledger that explains every
change."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import BigId, Organization, User, enum_values, utcnow


class LocationKind(enum.StrEnum):
    WAREHOUSE = "warehouse"
    FAIR = "fair"
    COUNTER = "counter"


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    RESERVATION = "reservation"
    RELEASE = "release"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    REFUND_RESTOCK = "refund_restock"


class AdjustmentReason(enum.StrEnum):
    COUNT_CORRECTION = "count_correction"
    DAMAGED = "damaged"
    SPOILED = "spoiled"
    RETURNED_TO_PRODUCER = "returned_to_producer"


class StockLocation(db.Model):
    """A place a vendor's goods are: its warehouse (one per vendor), its stall at a fair,
    or a store's counter. ``place_ref`` names the fair or the store by id without a
    foreign key: vendors does not point at the tables of the packages above it (the
    stock API, ``vendors.stock``, finds or creates a location from a ``Place``)."""

    __tablename__ = "stock_locations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({enum_values(LocationKind)})", name="kind"),
        CheckConstraint("kind != 'warehouse' OR place_ref IS NULL", name="warehouse_place_ref"),
        UniqueConstraint("vendor_id", "kind", "place_ref"),
        # NULLs are distinct in the constraint above, so the one warehouse needs its own
        Index(
            "uq_stock_locations_warehouse",
            "vendor_id",
            unique=True,
            sqlite_where=text("kind = 'warehouse'"),
            postgresql_where=text("kind = 'warehouse'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(20), default=LocationKind.WAREHOUSE)
    name: Mapped[str] = mapped_column(String(200))
    # the fair's id (kind fair) or the store organization's id (kind counter)
    place_ref: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    vendor: Mapped[Organization] = relationship(foreign_keys=[vendor_id])


class StockLevel(db.Model):
    """On-hand and reserved units of one product at one location. Available is on-hand
    minus reserved, and the database itself refuses anything negative."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("product_id", "location_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="available_not_negative"),
        Index("ix_stock_levels_location", "location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship()
    location: Mapped[StockLocation] = relationship()

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockSetting(db.Model):
    """A vendor's per-product stock preferences."""

    __tablename__ = "stock_settings"
    __table_args__ = (CheckConstraint("low_threshold >= 0", name="low_threshold"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    low_threshold: Mapped[int] = mapped_column(Integer, default=10)
    show_exact: Mapped[bool] = mapped_column(Boolean, default=False)  # public exact numbers


class StockMovement(db.Model):
    """One change of stock, with who, when, why and the balance it left. The sum of
    ``on_hand_delta`` of a product at a location equals its on-hand."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(f"kind IN ({enum_values(MovementKind)})", name="kind"),
        CheckConstraint(
            f"reason IS NULL OR reason IN ({enum_values(AdjustmentReason)})", name="reason"
        ),
        CheckConstraint("kind != 'adjustment' OR reason IS NOT NULL", name="adjustment_reason"),
        Index("ix_stock_movements_product_location", "product_id", "location_id", "id"),
        Index("ix_stock_movements_vendor_created", "vendor_id", "created_at"),
        Index("ix_stock_movements_ref", "ref_type", "ref_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    ref_type: Mapped[str | None] = mapped_column(String(20))  # order, fair, import, ...
    ref_id: Mapped[str | None] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(254), default="system")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship()
    location: Mapped[StockLocation] = relationship()
    actor: Mapped[User | None] = relationship()


class TraceLabel(db.Model):
    """A traceability label (溯源标签): a QR code that opens a product's public page, for
    the product itself or for one stock receipt batch of it (``movement_id``, a receipt
    movement). Its ``token`` is the short link's random key. ``scans`` counts the times
    the link was followed and nothing else: no time, address, cookie or user of a scan
    is kept."""

    __tablename__ = "trace_labels"
    __table_args__ = (
        CheckConstraint("scans >= 0", name="scans_not_negative"),
        UniqueConstraint("movement_id"),
        # NULLs are distinct in the constraint above: one product label per product
        Index(
            "uq_trace_labels_product",
            "product_id",
            unique=True,
            sqlite_where=text("movement_id IS NULL"),
            postgresql_where=text("movement_id IS NULL"),
        ),
        Index("ix_trace_labels_vendor", "vendor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(24), unique=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"))
    scans: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship()
    movement: Mapped[StockMovement | None] = relationship()
