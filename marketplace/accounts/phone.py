"""验证手机号: a phone number on the account is proved by a 6-digit code texted to it.

A code lives PHONE_CODE_MINUTES, survives PHONE_CODE_ATTEMPTS wrong guesses and works
once; only its keyed hash (HMAC with the app's secret) is stored, so a copy of the
database does not give live codes. Each account has at most one code waiting; asking
again replaces it. The views rate-limit the sending per account and per number. A
verified number logs in with the password, and only one account holds it verified.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import ValidationError
from ..extensions import db
from ..models import User, utcnow
from ..notifications.sms import send_sms
from ..unit_of_work import unit_of_work
from ..web import CN_MOBILE
from .models import PhoneCode

CODE_DIGITS = 6


def _code_hash(code: str, user_id: int, phone: str) -> str:
    key = current_app.secret_key.encode()
    return hmac.new(key, f"{user_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _holder(phone: str, but: User) -> User | None:
    return db.session.scalar(
        select(User).where(
            User.phone == phone, User.phone_verified_at.is_not(None), User.id != but.id
        )
    )


def _taken() -> ValidationError:
    message = _("这个手机号已被另一个账号验证。")
    return ValidationError(message, {"phone": message})


def send_code(user: User, phone: str) -> None:
    """Text a new code to ``phone`` for ``user`` (any earlier code of the user ends)."""
    phone = (phone or "").strip()
    if not CN_MOBILE.match(phone):
        message = _("请输入有效的 11 位手机号码")
        raise ValidationError(message, {"phone": message})
    if _holder(phone, user) is not None:
        raise _taken()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = current_app.config["PHONE_CODE_MINUTES"]
    now = utcnow()
    with unit_of_work():
        db.session.execute(delete(PhoneCode).where(PhoneCode.user_id == user.id))
        db.session.add(
            PhoneCode(
                user_id=user.id,
                phone=phone,
                code_hash=_code_hash(code, user.id, phone),
                attempts=0,
                created_at=now,
                expires_at=now + timedelta(minutes=minutes),
            )
        )
    send_sms(
        phone,
        _(
            "【消费帮扶商城】您的验证码是 %(code)s，%(m)d 分钟内有效。请勿告诉他人。",
            code=code,
            m=minutes,
        ),
    )


def pending_code(user: User) -> PhoneCode | None:
    """The user's code still waiting to be entered (live, with guesses left)."""
    return db.session.scalar(
        select(PhoneCode).where(
            PhoneCode.user_id == user.id,
            PhoneCode.expires_at > utcnow(),
            PhoneCode.attempts < current_app.config["PHONE_CODE_ATTEMPTS"],
        )
    )


def verify_code(user: User, code: str) -> str:
    """Enter the texted code: the phone becomes the account's verified number. A wrong
    code uses up one guess (counted by a guarded UPDATE, so parallel guesses cannot
    share one); an expired or spent code asks for a new one. Another account verifying
    the same number at the same moment loses on the unique index and reads "taken"."""
    try:
        phone = _check_code(user, (code or "").strip())
    except IntegrityError:
        raise _taken() from None
    if phone is None:
        left = current_app.config["PHONE_CODE_ATTEMPTS"] - db.session.scalar(
            select(PhoneCode.attempts).where(PhoneCode.user_id == user.id)
        )
        message = (
            _("验证码不正确，还可以再试 %(n)d 次。", n=left)
            if left > 0
            else _("验证码不正确，次数已用完，请重新获取。")
        )
        raise ValidationError(message, {"code": message})
    return phone


def _check_code(user: User, code: str) -> str | None:
    """The verified phone, or None for a wrong code (its guess counted and committed)."""
    limit = current_app.config["PHONE_CODE_ATTEMPTS"]
    with unit_of_work():
        pending = db.session.scalar(
            select(PhoneCode).where(PhoneCode.user_id == user.id).with_for_update()
        )
        if pending is None or pending.expires_at <= utcnow() or pending.attempts >= limit:
            message = _("验证码已失效，请重新获取。")
            raise ValidationError(message, {"code": message})
        counted = db.session.execute(
            update(PhoneCode)
            .where(PhoneCode.id == pending.id, PhoneCode.attempts < limit)
            .values(attempts=PhoneCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        right = hmac.compare_digest(pending.code_hash, _code_hash(code, user.id, pending.phone))
        if counted.rowcount != 1 or not right:
            return None
        phone = pending.phone
        db.session.execute(delete(PhoneCode).where(PhoneCode.id == pending.id))
        if _holder(phone, user) is not None:
            raise _taken()
        user.phone = phone
        user.phone_verified_at = utcnow()
        audit.record(user, "user.verify_phone", user, changes={"phone": "verified"})
    return phone
