"""Kernel models: accounts, organizations, geography, the household register, audit log.

Models hold data and pure rules only; they never commit and know nothing of requests.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
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

from .clock import utcnow as utcnow  # re-exported: most modules import it from here
from .extensions import db

# The primary key of tables that grow past 2**31 rows (the ledger, stock movements, the
# audit log): BIGINT, but INTEGER on SQLite, where only an INTEGER PRIMARY KEY is the
# auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")


class OrgKind(enum.StrEnum):
    BUREAU = "bureau"
    COOPERATIVE = "cooperative"
    ENTERPRISE = "enterprise"
    HOUSEHOLD = "household"
    OTHER = "other"
    AGENCY = "agency"
    FAIR_ORGANIZER = "fair_organizer"
    RETAILER = "retailer"


SELLER_KINDS = frozenset(
    {OrgKind.COOPERATIVE, OrgKind.ENTERPRISE, OrgKind.HOUSEHOLD, OrgKind.OTHER}
)


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    BUYER = "buyer"
    APPROVER = "approver"


AGENCY_ONLY_ROLES = frozenset({Role.BUYER, Role.APPROVER})


class HouseholdStatus(enum.StrEnum):
    POOR = "poor"
    ALLEVIATED = "alleviated"
    EDGE = "edge"
    MONITORED = "monitored"
    GENERAL = "general"


class RiskLight(enum.StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


def enum_values(e: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in e)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_verified_phone",
            "phone",
            unique=True,
            postgresql_where=text("phone_verified_at IS NOT NULL"),
            sqlite_where=text("phone_verified_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    # set when the owner proved the phone with a texted code (accounts.phone); only a
    # verified phone logs in, and one account at a time holds a verified number
    phone_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 注销: the row stays as a tombstone (orders keep their buyer id), emptied of the person
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id"
    )
    addresses: Mapped[list[Address]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Address.id"
    )

    # The log-in this request runs under (accounts.services sets it); not a column.
    login_token = None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        """Flask-Login keeps this in the session and the remember-me cookie: the user and
        the log-in, so ending the log-in (a ``LoginSession`` row) refuses both."""
        if not self.login_token:
            raise RuntimeError("log in through accounts.services.start_session")
        return f"{self.id}:{self.login_token}"

    def membership_in(self, org_id: int) -> Membership | None:
        return next((m for m in self.memberships if m.org_id == org_id), None)


class LoginSession(db.Model):
    """One log-in of a user in one browser. The session and the remember-me cookie name it
    by a random token, kept here only as its SHA-256; deleting the row ends the log-in
    wherever its cookies are (log-out, password change, 退出所有设备)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class RegistrationRequest(db.Model):
    """A citizen's registration waiting for its e-mail link. The account is created only
    when the link is used, so the form says the same for a taken and a new address and
    nobody can hold an address they cannot read. The token is kept as its SHA-256."""

    __tablename__ = "registration_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    next_url: Mapped[str | None] = mapped_column(String(500))
    # the privacy policy and user agreement version the form's checkbox agreed to
    policy_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({enum_values(OrgKind)})", name="kind"),
        CheckConstraint(f"status IN ({enum_values(OrgStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=OrgStatus.PENDING)
    # vendor_code from the vendors import; unique when present
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="org", cascade="all, delete-orphan", order_by="Membership.id"
    )
    district: Mapped[District | None] = relationship()
    town: Mapped[Town | None] = relationship()
    village: Mapped[Village | None] = relationship()

    @property
    def is_verified(self) -> bool:
        return self.status == OrgStatus.VERIFIED

    @property
    def is_seller(self) -> bool:
        return self.kind in SELLER_KINDS


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id"),
        CheckConstraint(f"role IN ({enum_values(Role)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    org: Mapped[Organization] = relationship(back_populates="memberships")


class Address(db.Model):
    """A saved delivery address of a user."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(50))
    district: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(String(300))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="addresses")

    def one_line(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.detail}"


class District(db.Model):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)

    towns: Mapped[list[Town]] = relationship(back_populates="district", order_by="Town.name")


class Town(db.Model):
    __tablename__ = "towns"
    __table_args__ = (UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    name: Mapped[str] = mapped_column(String(50))

    district: Mapped[District] = relationship(back_populates="towns")
    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.name")


class Village(db.Model):
    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("town_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"))
    name: Mapped[str] = mapped_column(String(50))
    is_poor: Mapped[bool] = mapped_column(Boolean, default=False)

    town: Mapped[Town] = relationship(back_populates="villages")

    @property
    def full_name(self) -> str:
        return f"{self.town.district.name}{self.town.name}{self.name}"


class Household(db.Model):
    """A registered farming household (建档立卡户): personal data, bureau eyes only."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("members >= 1", name="members_positive"),
        CheckConstraint(f"status IN ({enum_values(HouseholdStatus)})", name="status"),
        CheckConstraint(f"risk_light IN ({enum_values(RiskLight)})", name="risk_light"),
        Index("ix_households_village_status", "village_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    head_name: Mapped[str] = mapped_column(String(100))
    members: Mapped[int] = mapped_column(Integer)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))
    status: Mapped[str] = mapped_column(String(20))
    risk_light: Mapped[str] = mapped_column(String(10), default=RiskLight.GREEN)
    registered_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    village: Mapped[Village] = relationship()


class AuditEntry(db.Model):
    """Who did what, when: one row per decision or change. Never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    changes: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()
