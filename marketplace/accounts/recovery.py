"""忘记密码: a password is reset through a link mailed to the account's address.

The link is signed (itsdangerous, with the app's secret key) and names the account and a
fingerprint of its current password hash, so it works for PASSWORD_RESET_MINUTES and
only once: setting the password changes the hash, and the link no longer matches. Two
submissions of one link race on a guarded UPDATE; only one sets a password. Nothing is
stored for a link, and the form says the same whether or not the address has an account.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from .. import audit, clock
from ..errors import DomainError
from ..extensions import db
from ..models import LoginSession, User
from ..unit_of_work import unit_of_work
from . import mails, services


class ResetLinkInvalid(DomainError):
    """A made-up, expired or already used reset link."""


class _ClockSigner(TimestampSigner):
    """Signs with the app's clock (marketplace.clock), so a link's age is measured on
    the same clock as everything else (and tests can move it)."""

    def get_timestamp(self) -> int:
        return int(clock.utcnow().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.secret_key, salt="password-reset", signer=_ClockSigner
    )


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def _minutes() -> int:
    return current_app.config["PASSWORD_RESET_MINUTES"]


def request_reset(email: str) -> None:
    """The "forgot password" form. An address with a usable account gets a reset link;
    any other address gets a note that no account uses it (so whoever typed it learns
    nothing from the page, and the mail goes only to the address's owner)."""
    email = services.normalize_email(email)
    user = services.find_user(email)
    if user is None or not user.active:
        mails.reset_unknown(email)
        return
    token = _serializer().dumps({"u": user.id, "f": _fingerprint(user)})
    mails.reset_link(user, token, _minutes())


def reset_user(token: str) -> User:
    """The account a live reset link names, or ``ResetLinkInvalid``."""
    invalid = ResetLinkInvalid(_("重设密码的链接无效、已过期或已经用过，请重新申请。"))
    try:
        data = _serializer().loads(token or "", max_age=_minutes() * 60)
    except (SignatureExpired, BadSignature):
        raise invalid from None
    if not isinstance(data, dict):
        raise invalid
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        raise invalid
    return user


def reset_password(token: str, password: str) -> User:
    """Set the new password through a live link, once. Every log-in of the account ends
    (a browser someone else kept open is signed out)."""
    services.check_password_rules(password)
    new_hash = services.hash_password(password)
    with unit_of_work():
        user = reset_user(token)
        old_hash = user.password_hash
        # the link's first use wins: a second submission finds the hash changed
        done = db.session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            raise ResetLinkInvalid(_("重设密码的链接无效、已过期或已经用过，请重新申请。"))
        db.session.execute(LoginSession.__table__.delete().where(LoginSession.user_id == user.id))
        audit.record(user, "user.reset_password", user)
    db.session.refresh(user)
    return user
