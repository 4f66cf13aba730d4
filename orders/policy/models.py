"""The policy room's tables: the households' assessed net agricultural income, and the
reward lists the bureau approved (frozen: each row as it was approved).

A list of a kind (``households`` or ``vendors``) and year exists only once approved;
until then the list is computed from the ledger each time it is read. A row of an
approved list is either a ``reward`` (for the list's own year) or a ``difference`` (for
an earlier approved year whose figures changed after its approval: a refund, a new
assessment), so what was paid for a year is the sum of its rows over every list."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models import BigId, Household, Organization, User, enum_values, utcnow


class ListKind(enum.StrEnum):
    HOUSEHOLDS = "households"
    VENDORS = "vendors"


class IncomeSource(enum.StrEnum):
    ASSESSED = "assessed"  # recorded by the bureau (village cadres assessed it)
    ESTIMATE = "estimate"  # attributed sales x the configured net-income ratio


class EntryKind(enum.StrEnum):
    REWARD = "reward"  # the list's own year
    DIFFERENCE = "difference"  # an earlier approved year, changed since


class IncomeAssessment(db.Model):
    """A household's assessed net agricultural income for a year (fen)."""

    __tablename__ = "income_assessments"
    __table_args__ = (
        UniqueConstraint("household_id", "year", name="uq_income_assessment_household_year"),
        CheckConstraint("net_income >= 0", name="net_income"),
        Index("ix_income_assessments_year", "year"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    year: Mapped[int] = mapped_column(Integer)
    net_income: Mapped[int] = mapped_column(BigInteger)  # fen
    assessed_by: Mapped[str | None] = mapped_column(String(100))  # the cadre(s)
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    household: Mapped[Household] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class RewardList(db.Model):
    """A year's approved list: the households' industry rewards or the vendors' rewards
    and subsidies. ``rules`` keeps the configuration it was computed with; ``count`` and
    ``total`` are the year's own rewards, ``differences`` the sum of the difference rows."""

    __tablename__ = "reward_lists"
    __table_args__ = (
        UniqueConstraint("kind", "year", name="uq_reward_list_kind_year"),
        CheckConstraint(f"kind IN ({enum_values(ListKind)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict] = mapped_column(JSON)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    differences: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    approved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    approved_by: Mapped[User | None] = relationship()

    @property
    def payable(self) -> int:
        return self.total + self.differences


class HouseholdReward(db.Model):
    """A household's row on an approved list, as approved: its figures for ``year`` and
    the reward (a ``difference`` row: the change since that year's approval)."""

    __tablename__ = "household_rewards"
    __table_args__ = (
        UniqueConstraint("list_id", "household_id", "year", name="uq_household_reward"),
        CheckConstraint(f"kind IN ({enum_values(EntryKind)})", name="kind"),
        CheckConstraint(f"income_source IN ({enum_values(IncomeSource)})", name="income_source"),
        Index("ix_household_rewards_year_household", "year", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("reward_lists.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    attributed: Mapped[int] = mapped_column(BigInteger)  # fen, net of refunds
    income: Mapped[int] = mapped_column(BigInteger)  # fen
    income_source: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[int] = mapped_column(BigInteger, default=0)  # the tier reached, fen
    reward: Mapped[int] = mapped_column(BigInteger)  # fen; a difference may be negative

    household: Mapped[Household] = relationship()


class VendorReward(db.Model):
    """A vendor's row on an approved list (its statement), as approved."""

    __tablename__ = "vendor_rewards"
    __table_args__ = (
        UniqueConstraint("list_id", "vendor_id", "year", name="uq_vendor_reward"),
        CheckConstraint(f"kind IN ({enum_values(EntryKind)})", name="kind"),
        Index("ix_vendor_rewards_year_vendor", "year", "vendor_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("reward_lists.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    households_driven: Mapped[int] = mapped_column(Integer)
    attributed: Mapped[int] = mapped_column(BigInteger)  # fen
    online: Mapped[int] = mapped_column(BigInteger)  # sales by channel, fen, net
    fair: Mapped[int] = mapped_column(BigInteger)
    procurement: Mapped[int] = mapped_column(BigInteger)
    counter: Mapped[int] = mapped_column(BigInteger)
    certified_sales: Mapped[int] = mapped_column(BigInteger)
    reward: Mapped[int] = mapped_column(BigInteger)
    transport_subsidy: Mapped[int] = mapped_column(BigInteger)

    vendor: Mapped[Organization] = relationship()
