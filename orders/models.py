"""The orders package's tables: this module imports every room's models, so that
``orders.models`` (imported by the package, hence by the app factory and by Alembic's
``env.py`` through the app) puts every orders-side table in the metadata. The ledger's
tables are in ``orders/ledger/models.py``, the shop's in ``orders/shop/models.py``; the
market fairs stay here until the fairs room has its own models.

Import each class from its room's module, not from here."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models import enum_values, utcnow
from orders.ledger import models as ledger_models  # noqa: F401
from orders.settlement import models as settlement_models  # noqa: F401
from orders.shop import models as shop_models  # noqa: F401


class FairStatus(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Fair(db.Model):
    """A consumption poverty-relief market fair (爱心扶贫集市)."""

    __tablename__ = "fairs"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(FairStatus)})", name="status"),
        Index("ix_fairs_date", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(50))
    community: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=FairStatus.PLANNED)
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
