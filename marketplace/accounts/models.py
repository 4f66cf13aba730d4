"""The accounts' own tables beside the kernel's users: texted phone codes, the privacy
policy's versions, and each person's consents to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class PhoneCode(db.Model):
    """A code texted to a phone its user wants to verify. Only a keyed hash of the code
    is kept; it works until ``expires_at``, for a few wrong guesses, and once."""

    __tablename__ = "phone_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, unique=True
    )
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class PolicyVersion(db.Model):
    """One published text of the privacy policy and user agreement (隐私政策和用户协议).
    Version 1 is the text shipped with the software (templates/accounts/policy/); each
    save on the bureau's page publishes the next number, and the highest is in force."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(200))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Consent(db.Model):
    """A person agreed to a version of the policy (at registration, or later to a new
    version). Kept after the account is deleted: it names no one but the tombstone."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    agreed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # "register" (the registration form's checkbox) or "renew" (a later version)
    how: Mapped[str] = mapped_column(String(20))
