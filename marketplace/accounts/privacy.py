"""A person's rights over their information (《个人信息保护法》, PIPL): the privacy policy
and user agreement in force and its versions, consents to them, "download my data" and
"delete my account" (注销).

Deleting an account keeps the row as a tombstone: its orders keep their buyer id, so the
ledger and every report (``report summary``) are unchanged, while everything naming the
person is removed or blanked (here: profile, addresses, log-ins, inbox, phone codes, the
e-mail in the audit trail; the packages above through the ``personal_data`` registry:
the recipient, phone and address on orders, after-sales reasons and photos, the cart).
The address becomes free to register again. Open obligations (an unpaid order, a part
not yet delivered, an after-sales request in progress, membership of an organization)
refuse the deletion with what to do first, as real shops do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, registries
from ..authz import require
from ..clock import to_local
from ..errors import DomainError, ValidationError
from ..extensions import db
from ..models import Address, AuditEntry, LoginSession, Organization, User, utcnow
from ..notifications.models import Notification
from ..unit_of_work import lock_row, unit_of_work
from . import services
from .models import Consent, PhoneCode, PolicyVersion

TOMBSTONE_NAME = "已注销用户"
BUILT_IN_VERSION = 1
POLICY_DIR = Path(__file__).resolve().parents[2] / "templates" / "accounts" / "policy"


@dataclass(frozen=True)
class PolicyText:
    version: int
    body_zh: str
    body_en: str
    published_at: datetime | None  # None: the text shipped with the software
    note: str | None = None

    def body(self, locale: str) -> str:
        return self.body_en if str(locale).startswith("en") else self.body_zh


def built_in_policy() -> PolicyText:
    return PolicyText(
        version=BUILT_IN_VERSION,
        body_zh=(POLICY_DIR / "v1.zh.md").read_text(encoding="utf-8"),
        body_en=(POLICY_DIR / "v1.en.md").read_text(encoding="utf-8"),
        published_at=None,
        note=None,
    )


def _text(row: PolicyVersion) -> PolicyText:
    return PolicyText(row.version, row.body_zh, row.body_en, row.published_at, row.note)


def current_policy() -> PolicyText:
    """The version in force: the last the bureau published, else the built-in one."""
    row = db.session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))
    return _text(row) if row is not None else built_in_policy()


def policy_history() -> list[PolicyText]:
    """Every version, newest first (the built-in one last)."""
    rows = db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.version.desc()))
    return [_text(row) for row in rows] + [built_in_policy()]


def policy_version(version: int) -> PolicyText | None:
    if version == BUILT_IN_VERSION:
        return built_in_policy()
    row = db.session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
    return _text(row) if row is not None else None


def publish_policy(
    actor: User, org: Organization | None, *, body_zh: str, body_en: str, note: str = ""
) -> PolicyText:
    """The bureau publishes a new text: it gets the next version number and is in force
    from now on. Registrations from now on agree to it; earlier consents keep theirs."""
    require(actor, "privacy.edit", org)
    body_zh, body_en = (body_zh or "").strip(), (body_en or "").strip()
    errors = {}
    if not body_zh:
        errors["body_zh"] = _("请填写中文文本")
    if not body_en:
        errors["body_en"] = _("请填写英文文本")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    try:
        with unit_of_work():
            last = db.session.scalar(select(func.max(PolicyVersion.version)))
            row = PolicyVersion(
                version=max(last or 0, BUILT_IN_VERSION) + 1,
                body_zh=body_zh,
                body_en=body_en,
                note=(note or "").strip()[:200] or None,
                published_by_id=actor.id,
                published_at=utcnow(),
            )
            db.session.add(row)
            db.session.flush()
            audit.record(actor, "policy.publish", row, changes={"version": row.version})
    except IntegrityError:  # two editors published at the same moment
        raise DomainError(_("有人刚刚发布了新版本，请刷新后再改。")) from None
    return _text(row)


def consents(user: User) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.user_id == user.id).order_by(Consent.agreed_at)
        )
    )


def needs_consent(user: User) -> bool:
    """The version in force is newer than any the person agreed to."""
    agreed = db.session.scalar(
        select(func.max(Consent.policy_version)).where(Consent.user_id == user.id)
    )
    return (agreed or 0) < current_policy().version


def agree(user: User, version: int) -> None:
    """The person agrees to the version in force (it must be the one they were shown)."""
    if version != current_policy().version:
        raise DomainError(_("隐私政策刚刚更新，请阅读新版本后再同意。"))
    with unit_of_work():
        db.session.add(Consent(user_id=user.id, policy_version=version, how="renew"))
        audit.record(user, "user.consent", user, changes={"policy_version": version})


# ---- download my data ----


def _when(moment) -> str | None:
    return to_local(moment).isoformat() if moment else None


def export_data(user: User) -> dict[str, Any]:
    """Everything the site keeps about the person, as JSON-ready values."""
    data: dict[str, Any] = {
        "exported_at": _when(utcnow()),
        "profile": {
            "email": user.email,
            "name": user.name,
            "phone": user.phone,
            "phone_verified_at": _when(user.phone_verified_at),
            "locale": user.locale,
            "created_at": _when(user.created_at),
            "last_login_at": _when(user.last_login_at),
        },
        "addresses": [
            {
                "recipient": a.recipient,
                "phone": a.phone,
                "province": a.province,
                "city": a.city,
                "district": a.district,
                "detail": a.detail,
                "is_default": a.is_default,
            }
            for a in user.addresses
        ],
        "organizations": [{"organization": m.org.name, "role": m.role} for m in user.memberships],
        "consents": [
            {"policy_version": c.policy_version, "agreed_at": _when(c.agreed_at), "how": c.how}
            for c in consents(user)
        ],
        "logins": [
            {"started_at": _when(s.created_at), "expires_at": _when(s.expires_at)}
            for s in db.session.scalars(
                select(LoginSession)
                .where(LoginSession.user_id == user.id)
                .order_by(LoginSession.created_at)
            )
        ],
        "notifications": [
            {
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        ],
        "activity": [
            {"action": e.action, "at": _when(e.at)}
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id)
            )
        ],
    }
    for holder in registries.personal_data.get():
        data.update(holder.export(user))
    return data


# ---- delete my account ----


def open_obligations(user: User) -> list[str]:
    """What must be finished before the account can be deleted (empty: nothing)."""
    reasons = [
        _("您是组织“%(org)s”的成员：请先请该组织的管理员将您移出。", org=m.org.name)
        for m in user.memberships
    ]
    for holder in registries.personal_data.get():
        reasons += holder.open_obligations(user)
    return reasons


class AccountNotDeletable(DomainError):
    """Open obligations stand in the way; ``reasons`` lists them."""

    def __init__(self, reasons: list[str]):
        super().__init__(_("账号暂时不能注销。"))
        self.reasons = reasons


def delete_account(user: User, password: str) -> None:
    """注销: confirm with the password, then empty the account (see the module's note).
    The person is logged out everywhere and can no longer log in; the e-mail address
    and the phone number are free for a new account."""
    if not services.password_matches(user, password):
        raise ValidationError(_("密码不正确"), {"password": _("密码不正确")})
    cleanups = []
    with unit_of_work():
        user = lock_row(User, user.id)
        if user is None or user.deleted_at is not None:
            raise DomainError(_("这个账号已经注销。"))
        reasons = open_obligations(user)
        if reasons:
            raise AccountNotDeletable(reasons)
        counts: dict[str, int] = {}
        for holder in registries.personal_data.get():
            erased, cleanup = holder.erase(user)
            counts.update(erased)
            if cleanup is not None:
                cleanups.append(cleanup)
        counts["addresses"] = db.session.execute(
            delete(Address).where(Address.user_id == user.id)
        ).rowcount
        counts["notifications"] = db.session.execute(
            delete(Notification).where(Notification.user_id == user.id)
        ).rowcount
        db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        db.session.execute(delete(PhoneCode).where(PhoneCode.user_id == user.id))
        label = f"{TOMBSTONE_NAME} #{user.id}"
        # the audit trail keeps what was done and when, not who the person was
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.actor_id == user.id)
            .values(actor_label=label)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.object_type == "users", AuditEntry.object_id == str(user.id))
            .values(changes=None)
            .execution_options(synchronize_session=False)
        )
        user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@deleted.invalid"
        user.name = TOMBSTONE_NAME
        user.phone = None
        user.phone_verified_at = None
        user.locale = None
        user.password_hash = "!deleted"  # no password matches it
        user.active = False
        user.last_login_at = None
        user.deleted_at = utcnow()
        db.session.expire(user, ["addresses", "memberships"])
        entry = audit.record(user, "user.delete", user, changes=counts)
        entry.actor_label = label
    user.login_token = None
    for cleanup in cleanups:
        try:
            cleanup()
        except OSError:  # a file already gone or unreadable: the account is deleted anyway
            current_app.logger.warning("could not remove a deleted account's file")
