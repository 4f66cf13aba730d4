"""The settlement room's table: one statement per vendor and period."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models import BigId, Organization, User, enum_values, utcnow


class StatementStatus(enum.StrEnum):
    ISSUED = "issued"  # frozen, payable
    PAID = "paid"  # the platform paid it (bank reference recorded)


class Statement(db.Model):
    """A vendor's settlement statement for one period, frozen when issued.

    ``sales``: online lines sold in the period (sale date in it). ``refunds``: money given
    back in the period for sales of the period; ``adjustments``: money given back in the
    period for sales of earlier periods (already on an earlier, frozen statement).
    ``net = sales + shipping - refunds - adjustments - fee``; it may be negative, when
    refunds of earlier sales outweigh the period's sales."""

    __tablename__ = "settlement_statements"
    __table_args__ = (
        UniqueConstraint("vendor_id", "period_start", name="uq_statement_vendor_period"),
        CheckConstraint(f"status IN ({enum_values(StatementStatus)})", name="status"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("fee_rate_bp >= 0 AND fee_rate_bp <= 10000", name="fee_rate"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=StatementStatus.ISSUED)
    orders: Mapped[int] = mapped_column(Integer, default=0)  # online orders in the period
    sales: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    # shipping fees of the vendor's parts of the period's sales (the shop's
    # ``shipments.shipping_fen``): the platform collected them with the goods
    shipping: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustments: Mapped[int] = mapped_column(BigInteger, default=0)
    # of ``refunds`` and ``adjustments``: the shipping fees given back in the period
    shipping_refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    fee_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # 1/100 of a percent
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    net: Mapped[int] = mapped_column(BigInteger, default=0)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_on: Mapped[date | None] = mapped_column(Date)
    bank_ref: Mapped[str | None] = mapped_column(String(100))
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)

    vendor: Mapped[Organization] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])
