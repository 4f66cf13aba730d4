"""Catalog: categories, products, images, bulk price tiers, certifications (认定) and
benefit links (带贫机制: which households a product's sales help)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models import Household, Organization, Village, enum_values, utcnow

# A benefit link version without a valid_from applies to every sale date; it is stored
# with this date so (product, valid_from) stays a plain, indexable key.
ALWAYS = date(1900, 1, 1)


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"  # being prepared by the vendor, never public
    ACTIVE = "active"  # listed (still public only while certified)
    ARCHIVED = "archived"  # withdrawn by the vendor


class CertStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class BenefitMode(enum.StrEnum):
    WAGE = "wage"  # households employed by the vendor
    ASSET = "asset"  # asset income: dividends on land or funds put in
    BUSINESS = "business"  # business income: households' own produce sold through it
    PURCHASE = "purchase"  # the vendor buys the households' crop


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    signature: Mapped[bool] = mapped_column(Boolean, default=False)  # the "6+3" industries
    position: Mapped[int] = mapped_column(Integer, default=100)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("min_order_qty >= 1", name="min_order_qty_positive"),
        CheckConstraint(f"status IN ({enum_values(ProductStatus)})", name="status"),
        Index("ix_products_vendor_status", "vendor_id", "status"),
        Index("ix_products_category_status", "category_id", "status"),
        Index(
            "ix_products_active_featured",
            "featured",
            "created_at",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_products_active_price",
            "price",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_products_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    sku: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    specification: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(20))
    price: Mapped[int] = mapped_column(BigInteger)  # retail unit price, fen
    origin_village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    shelf_life: Mapped[str] = mapped_column(String(50), default="")
    min_order_qty: Mapped[int] = mapped_column(Integer, default=1)  # agency orders
    status: Mapped[str] = mapped_column(String(20), default=ProductStatus.ACTIVE)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # 生鲜: perishable goods, which a vendor may not deliver to some provinces (the
    # shop's shipping rule); pick-up at a station is always possible
    is_fresh: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # name, description, vendor and village in one column for substring search
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    vendor: Mapped[Organization] = relationship()
    category: Mapped[Category] = relationship()
    origin_village: Mapped[Village | None] = relationship()
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductImage.position"
    )
    tiers: Mapped[list[PriceTier]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="PriceTier.min_qty"
    )
    certifications: Mapped[list[Certification]] = relationship(
        back_populates="product", order_by="Certification.id.desc()"
    )

    def unit_price_for(self, quantity: int) -> int:
        """The bulk tier price for ``quantity`` (the retail price below every tier)."""
        price = self.price
        for tier in self.tiers:
            if quantity >= tier.min_qty:
                price = tier.unit_price
        return price

    def refresh_search_text(self) -> None:
        parts = [self.name, self.description or "", self.specification or ""]
        if self.vendor is not None:
            parts.append(self.vendor.name)
        if self.origin_village is not None:
            village = self.origin_village
            parts += [village.name, village.town.name, village.town.district.name]
        self.search_text = " ".join(p for p in parts if p).lower()


# pg_trgm backs the substring search index on PostgreSQL; the migration creates it too.
event.listen(
    Product.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(100), unique=True)  # generated, never the upload's
    thumb_filename: Mapped[str] = mapped_column(String(100), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class PriceTier(db.Model):
    """Bulk price for agencies: from ``min_qty`` units on, ``unit_price`` fen each."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        UniqueConstraint("product_id", "min_qty"),
        CheckConstraint("min_qty >= 2", name="min_qty"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    min_qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)

    product: Mapped[Product] = relationship(back_populates="tiers")


# an application names at most this many households (the form and the service refuse more)
MAX_APPLICATION_HOUSEHOLDS = 200


class Certification(db.Model):
    """One application for, and then the decision on, a product's poverty-relief
    certification. A product is sellable on a day covered by an approved one."""

    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(CertStatus)})", name="status"),
        CheckConstraint(f"benefit_mode IN ({enum_values(BenefitMode)})", name="benefit_mode"),
        CheckConstraint(
            "status NOT IN ('approved', 'suspended', 'revoked') OR "
            "(certified_on IS NOT NULL AND valid_until IS NOT NULL "
            "AND valid_until >= certified_on)",
            name="validity",
        ),
        Index("ix_certifications_product_status", "product_id", "status"),
        Index(
            "ix_certifications_approved_window",
            "product_id",
            "certified_on",
            "valid_until",
            postgresql_where=text("status = 'approved'"),
        ),
        Index("ix_certifications_valid_until", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    status: Mapped[str] = mapped_column(String(20), default=CertStatus.PENDING)
    # NULL for certifications imported from the bureau's records without one
    benefit_mode: Mapped[str | None] = mapped_column(String(20))
    expected_annual_value: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    note: Mapped[str] = mapped_column(Text, default="")
    test_report_file: Mapped[str | None] = mapped_column(String(100))
    test_report_valid_until: Mapped[date | None] = mapped_column(Date)
    certificate_no: Mapped[str | None] = mapped_column(String(60), unique=True)
    certified_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)  # of a rejection, suspension or revocation
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    product: Mapped[Product] = relationship(back_populates="certifications")
    households: Mapped[list[CertificationHousehold]] = relationship(
        back_populates="certification",
        cascade="all, delete-orphan",
        order_by="CertificationHousehold.id",
    )

    def covers(self, day: date) -> bool:
        """Approved, and ``day`` inside the validity window (both ends inclusive)."""
        return (
            self.status == CertStatus.APPROVED
            and self.certified_on is not None
            and self.valid_until is not None
            and self.certified_on <= day <= self.valid_until
        )


class CertificationHousehold(db.Model):
    """A household the vendor proposes to link, with its weight, in an application."""

    __tablename__ = "certification_households"
    __table_args__ = (
        UniqueConstraint("certification_id", "household_id"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE")
    )
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    weight: Mapped[Decimal] = mapped_column(Numeric(18, 6))

    certification: Mapped[Certification] = relationship(back_populates="households")
    household: Mapped[Household] = relationship()


class BenefitLink(db.Model):
    """One household's weight in one version of a product's links. The version in force
    on a day is the one with the latest ``valid_from`` on or before it."""

    __tablename__ = "benefit_links"
    __table_args__ = (
        UniqueConstraint("product_id", "valid_from", "household_id"),
        CheckConstraint("weight > 0", name="weight_positive"),
        Index("ix_benefit_links_household", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    weight: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    valid_from: Mapped[date] = mapped_column(Date, default=ALWAYS)
    certification_id: Mapped[int | None] = mapped_column(ForeignKey("certifications.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship()
    household: Mapped[Household] = relationship()


class HeldReport(db.Model):
    """A test report uploaded with a certification application that came back with an
    error: kept for the vendor under a random token (a hidden field of the form), so the
    PDF need not be chosen again. An application that uses it takes the file over and
    deletes the row; rows older than a day are swept with their files (``held_reports``)."""

    __tablename__ = "held_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(String(100))  # catalog.files' generated name
    filename: Mapped[str] = mapped_column(String(255))  # the upload's, shown back only
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RestockAlert(db.Model):
    """A signed-in buyer's 到货提醒 for a sold-out product: told once (inbox and e-mail)
    when stock is available again; subscribing again after that is a new round."""

    __tablename__ = "restock_alerts"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id"),
        Index("ix_restock_alerts_product_pending", "product_id", "notified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # one notice per round
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)

    product: Mapped[Product] = relationship()
