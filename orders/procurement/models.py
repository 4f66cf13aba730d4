"""Procurement's tables: agencies' yearly quotas (预留份额), the bureau's minimum ratio,
the buyers' baskets, and procurement orders with their lines and workflow events. A
procurement order enters the ledger (``orders.Order``) only when it is paid."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import BigId, Organization, User, enum_values, utcnow

RATIO_SCALE = 10_000  # ratios are stored in basis points: 1000 = 10%
DEFAULT_RATIO_BP = 1000


class ProcurementStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    ACCEPTED = "accepted"
    INVOICED = "invoiced"
    PAID = "paid"
    DECLINED = "declined"
    CANCELLED = "cancelled"


DELIVERY_DAYS = (7, 15, 30)


class QuotaSetting(db.Model):
    """The bureau's minimum reserved ratio for a year (10% when none is set)."""

    __tablename__ = "procurement_quota_settings"
    __table_args__ = (
        CheckConstraint(f"min_ratio_bp >= 0 AND min_ratio_bp <= {RATIO_SCALE}", name="ratio"),
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    min_ratio_bp: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class AgencyQuota(db.Model):
    """An agency's canteen food budget and reserved ratio for one year, or its
    declaration that it has no canteen (no quota)."""

    __tablename__ = "agency_quotas"
    __table_args__ = (
        UniqueConstraint("agency_id", "year"),
        CheckConstraint("budget >= 0", name="budget"),
        CheckConstraint(f"ratio_bp >= 0 AND ratio_bp <= {RATIO_SCALE}", name="ratio"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    ratio_bp: Mapped[int] = mapped_column(Integer, default=DEFAULT_RATIO_BP)
    no_canteen: Mapped[bool] = mapped_column(Boolean, default=False)
    no_canteen_reason: Mapped[str | None] = mapped_column(Text)
    # the bureau's last correction (also in the audit trail)
    corrected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    agency: Mapped[Organization] = relationship()

    @property
    def reserved(self) -> int:
        """budget x ratio in fen, rounded half up; nothing without a canteen."""
        if self.no_canteen:
            return 0
        return reserved_amount(self.budget, self.ratio_bp)


def reserved_amount(budget: int, ratio_bp: int) -> int:
    return (budget * ratio_bp * 2 + RATIO_SCALE) // (2 * RATIO_SCALE)


class BasketItem(db.Model):
    """A line of a buyer's procurement basket, for the agency the buyer acts for."""

    __tablename__ = "procurement_basket_items"
    __table_args__ = (
        UniqueConstraint("agency_id", "user_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship()


class ProcurementOrder(db.Model):
    """One agency's order to one vendor, through the procurement workflow."""

    __tablename__ = "procurement_orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(ProcurementStatus)})", name="status"),
        CheckConstraint("total >= 0 AND accepted_total >= 0", name="totals"),
        Index("ix_procurement_orders_agency", "agency_id", "status"),
        Index("ix_procurement_orders_vendor", "vendor_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(20), default=ProcurementStatus.DRAFT)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # delivery
    address: Mapped[str] = mapped_column(String(400))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(30))
    delivery_days: Mapped[int] = mapped_column(Integer)
    deliver_by: Mapped[date] = mapped_column(Date)  # latest delivery date
    note: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # as ordered, fen
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivery_note: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_total: Mapped[int] = mapped_column(BigInteger, default=0)  # as received, fen
    # 发票
    invoice_no: Mapped[str | None] = mapped_column(String(50))
    invoice_date: Mapped[date | None] = mapped_column(Date)
    invoice_amount: Mapped[int | None] = mapped_column(BigInteger)
    invoice_title: Mapped[str | None] = mapped_column(String(200))
    invoice_tax_id: Mapped[str | None] = mapped_column(String(20))
    # payment by bank transfer
    payment_ref: Mapped[str | None] = mapped_column(String(100))
    payment_date: Mapped[date | None] = mapped_column(Date)
    ledger_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    agency: Mapped[Organization] = relationship(foreign_keys=[agency_id])
    vendor: Mapped[Organization] = relationship(foreign_keys=[vendor_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    lines: Mapped[list[ProcurementLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="ProcurementLine.id"
    )
    events: Mapped[list[ProcurementEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="ProcurementEvent.id"
    )

    def overdue(self, today: date) -> bool:
        """Not delivered by the latest delivery date."""
        open_ = self.status in (ProcurementStatus.APPROVED, ProcurementStatus.CONFIRMED)
        return open_ and today > self.deliver_by


class ProcurementLine(db.Model):
    """A product of a procurement order; name, unit and unit price copied when placed."""

    __tablename__ = "procurement_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "shipped_quantity IS NULL OR (shipped_quantity >= 0 AND shipped_quantity <= quantity)",
            name="shipped",
        ),
        CheckConstraint(
            "received_quantity IS NULL OR (received_quantity >= 0 "
            "AND received_quantity <= quantity)",
            name="received",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("procurement_orders.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(50))
    product_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[int] = mapped_column(BigInteger)  # fen
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # quantity x unit_price
    shipped_quantity: Mapped[int | None] = mapped_column(Integer)
    received_quantity: Mapped[int | None] = mapped_column(Integer)

    order: Mapped[ProcurementOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def received_amount(self) -> int:
        return (self.received_quantity or 0) * self.unit_price


class ProcurementEvent(db.Model):
    """One workflow step of an order: who moved it, when, from and to which state, why."""

    __tablename__ = "procurement_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("procurement_orders.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)

    order: Mapped[ProcurementOrder] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
