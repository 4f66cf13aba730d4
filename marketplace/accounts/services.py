"""Accounts: registration, log-in, passwords, profile and saved addresses."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..errors import DomainError, NotFound, ValidationError
from ..extensions import db
from ..models import (
    Address,
    LoginSession,
    Membership,
    Organization,
    OrgKind,
    OrgStatus,
    RegistrationRequest,
    Role,
    User,
    utcnow,
)
from ..unit_of_work import unit_of_work
from ..web import CN_MOBILE
from . import mails
from .models import Consent

MIN_PASSWORD = 8


def _hasher() -> PasswordHasher:
    """Argon2id with the library's recommended parameters; tests may lower them through
    ARGON2_TIME_COST / ARGON2_MEMORY_COST to run faster."""
    config = current_app.config
    key = (config.get("ARGON2_TIME_COST"), config.get("ARGON2_MEMORY_COST"))
    hasher = _hashers.get(key)
    if hasher is None:
        params = {}
        if key[0]:
            params["time_cost"] = key[0]
        if key[1]:
            params["memory_cost"] = key[1]
        hasher = _hashers[key] = PasswordHasher(**params)
    return hasher


_hashers: dict[tuple, PasswordHasher] = {}


class InvalidCredentials(DomainError):
    """Unknown e-mail, wrong password or disabled account (never said which)."""


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            _("密码至少需要 %(n)d 个字符", n=MIN_PASSWORD),
            {"password": _("密码至少需要 %(n)d 个字符", n=MIN_PASSWORD)},
        )


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def find_login(identifier: str) -> User | None:
    """The account a log-in names: an e-mail address, or a phone number its owner
    verified (an unverified number names nobody)."""
    identifier = (identifier or "").strip()
    if CN_MOBILE.match(identifier):
        return db.session.scalar(
            select(User).where(User.phone == identifier, User.phone_verified_at.is_not(None))
        )
    return find_user(identifier)


class RegistrationLinkInvalid(DomainError):
    """An unknown, used or expired registration link (shown as 404)."""


def request_registration(
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None = None,
    next_url: str | None = None,
    policy_version: int | None = None,
) -> None:
    """The register form. Whether or not the address has an account, the outcome seen on
    the page is the same, and so is the work done (the password is hashed either way):
    a new address gets a link that creates the account, a taken one gets a mail saying
    it already has one. Nothing is created until the link is used. ``policy_version``
    is the privacy policy the person agreed to; without it there is no registration."""
    email = normalize_email(email)
    if not policy_version:
        raise ValidationError(
            _("请阅读并同意隐私政策和用户协议"),
            {"agree": _("请阅读并同意隐私政策和用户协议")},
        )
    check_password_rules(password)
    password_hash = hash_password(password)
    now = utcnow()
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        db.session.execute(
            delete(RegistrationRequest).where(RegistrationRequest.created_at <= now - _link_life())
        )
        existing = find_user(email)
        if existing is None:
            db.session.add(
                RegistrationRequest(
                    token_hash=_token_hash(token),
                    email=email,
                    name=name.strip(),
                    phone=phone or None,
                    password_hash=password_hash,
                    next_url=(next_url or None) and next_url[:500],
                    policy_version=policy_version,
                    created_at=now,
                )
            )
    if existing is None:
        mails.registration_link(email, name.strip(), token)
    else:
        mails.account_exists(existing)


def _link_life() -> timedelta:
    return timedelta(hours=current_app.config["REGISTRATION_LINK_HOURS"])


def registration_request(token: str) -> RegistrationRequest:
    """The live request a registration link names, or ``RegistrationLinkInvalid``."""
    pending = db.session.scalar(
        select(RegistrationRequest).where(
            RegistrationRequest.token_hash == _token_hash(token or ""),
            RegistrationRequest.created_at > utcnow() - _link_life(),
        )
    )
    if pending is None:
        raise RegistrationLinkInvalid(_("链接无效或已过期，请重新注册。"))
    return pending


def confirm_registration(token: str) -> tuple[User, str | None]:
    """Use a registration link: the citizen account, and the page registration started
    from. A link works once; the first link used for an address creates its account and
    every other pending request for that address ends."""
    try:
        with unit_of_work():
            pending = registration_request(token)
            email, next_url = pending.email, pending.next_url
            agreed = (pending.policy_version, pending.created_at)
            user = User(
                email=email,
                name=pending.name,
                phone=pending.phone,
                password_hash=pending.password_hash,
            )
            # whoever deletes the request first creates the account (a double click, or
            # two tabs, cannot make two)
            taken = db.session.execute(
                delete(RegistrationRequest).where(RegistrationRequest.id == pending.id)
            )
            if taken.rowcount != 1 or find_user(email) is not None:
                raise RegistrationLinkInvalid(_("链接无效或已过期，请重新注册。"))
            db.session.add(user)
            db.session.flush()
            if agreed[0]:
                db.session.add(
                    Consent(
                        user_id=user.id,
                        policy_version=agreed[0],
                        agreed_at=agreed[1],
                        how="register",
                    )
                )
            db.session.execute(
                delete(RegistrationRequest).where(RegistrationRequest.email == email)
            )
            audit.record(user, "user.register", user)
    except IntegrityError:  # another link for the address won the race
        raise RegistrationLinkInvalid(_("链接无效或已过期，请重新注册。")) from None
    return user, next_url


def authenticate(identifier: str, password: str) -> User:
    """The user for these credentials (an e-mail address or a verified phone number, and
    the password), or ``InvalidCredentials``. A deleted account has no password."""
    user = find_login(identifier)
    if user is None or not user.active:
        # spend the same time as a real check so timing does not reveal accounts
        with contextlib.suppress(VerificationError):
            _hasher().verify(_DUMMY_HASH, password)
        raise InvalidCredentials(_("账号或密码不正确"))
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials(_("账号或密码不正确")) from None
    with unit_of_work():
        user.last_login_at = utcnow()
        if _hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def password_matches(user: User, password: str) -> bool:
    """Is ``password`` the user's current one (a deleted account has none)?"""
    try:
        return _hasher().verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, current: str, new: str) -> LoginSession:
    """Set a new password and end every log-in of the user, this one included: cookies
    copied earlier, here or elsewhere, no longer work. Returns the fresh log-in that
    replaces this browser's (remembered if it was)."""
    try:
        _hasher().verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationError(_("当前密码不正确"), {"current": _("当前密码不正确")}) from None
    check_password_rules(new)
    with unit_of_work():
        this = _login_row(user)
        user.password_hash = hash_password(new)
        _end_logins(LoginSession.user_id == user.id)
        login = _open_login(user, remember=bool(this and this.remember))
        audit.record(user, "user.change_password", user)
    return login


# ---- log-ins: one LoginSession row each, named in the session and remember-me cookie ----


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_login(user: User, *, remember: bool) -> LoginSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    login = LoginSession(
        user_id=user.id,
        token_hash=_token_hash(token),
        remember=remember,
        created_at=now,
        expires_at=now + current_app.config["REMEMBER_COOKIE_DURATION"],
    )
    db.session.add(login)
    user.login_token = token
    return login


def _login_row(user: User) -> LoginSession | None:
    if not user.login_token:
        return None
    return db.session.scalar(
        select(LoginSession).where(
            LoginSession.user_id == user.id,
            LoginSession.token_hash == _token_hash(user.login_token),
        )
    )


def _end_logins(*where) -> None:
    db.session.execute(delete(LoginSession).where(*where))


def start_session(user: User, *, remember: bool) -> LoginSession:
    """A new log-in for ``user`` (call before ``login_user``, which stores
    ``user.get_id()``). Log-ins past their expiry are cleared on the way."""
    with unit_of_work():
        _end_logins(LoginSession.expires_at <= utcnow())
        return _open_login(user, remember=remember)


def session_user(login_id: str) -> User | None:
    """The active user of a live log-in named ``"<user id>:<token>"``, else None (an
    ended, expired or malformed log-in, or an id from before log-ins had rows)."""
    user_id, _sep, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            User.active.is_(True),
            LoginSession.token_hash == _token_hash(token),
            LoginSession.expires_at > utcnow(),
        )
    )
    if user is not None:
        user.login_token = token
    return user


def end_session(user: User) -> None:
    """Log-out: this log-in ends; copies of its cookies are refused from now on."""
    if not user.login_token:
        return
    with unit_of_work():
        _end_logins(LoginSession.token_hash == _token_hash(user.login_token))
    user.login_token = None


def end_all_sessions(user: User) -> None:
    """退出所有设备: every log-in of the user ends, in every browser."""
    with unit_of_work():
        _end_logins(LoginSession.user_id == user.id)
        audit.record(user, "user.logout_everywhere", user)
    user.login_token = None


def update_profile(user: User, *, name: str, phone: str | None, locale: str | None) -> None:
    with unit_of_work():
        changes = audit.diff(
            user, {"name": name.strip(), "phone": phone or None, "locale": locale or None}
        )
        for field, change in changes.items():
            setattr(user, field, change["new"])
        if "phone" in changes:
            # a new number is not verified: it logs in only once its code is entered
            user.phone_verified_at = None
        if changes:
            audit.record(user, "user.update_profile", user, changes=changes)


def set_locale(user: User, locale: str) -> None:
    with unit_of_work():
        user.locale = locale


ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "detail")


def own_address(user: User, address_id: int) -> Address:
    address = db.session.scalar(
        select(Address).where(Address.id == address_id, Address.user_id == user.id)
    )
    if address is None:
        raise NotFound()
    return address


def save_address(user: User, data: dict, address_id: int | None = None) -> Address:
    """Create (``address_id`` None) or edit one of the user's own addresses. The first
    address, or one saved with ``is_default``, becomes the default."""
    with unit_of_work():
        if address_id is None:
            address = Address(user_id=user.id)
            db.session.add(address)
        else:
            address = own_address(user, address_id)
        for field in ADDRESS_FIELDS:
            setattr(address, field, (data.get(field) or "").strip())
        count = db.session.scalar(select(func.count(Address.id)).where(Address.user_id == user.id))
        make_default = bool(data.get("is_default")) or count <= 1
        db.session.flush()
        if make_default:
            _make_default(user, address)
    return address


def _make_default(user: User, address: Address) -> None:
    for other in db.session.scalars(select(Address).where(Address.user_id == user.id)):
        other.is_default = other.id == address.id


def set_default_address(user: User, address_id: int) -> None:
    with unit_of_work():
        _make_default(user, own_address(user, address_id))


def delete_address(user: User, address_id: int) -> None:
    with unit_of_work():
        address = own_address(user, address_id)
        was_default = address.is_default
        db.session.delete(address)
        db.session.flush()
        if was_default:
            rest = db.session.scalar(
                select(Address).where(Address.user_id == user.id).order_by(Address.id)
            )
            if rest is not None:
                rest.is_default = True


def create_bureau_admin(*, email: str, password: str, name: str, bureau: str) -> User:
    """The first bureau admin (``flask users create-admin``): creates the bureau
    organization if needed, and the user, or makes an existing user its admin."""
    check_password_rules(password)
    email = normalize_email(email)
    if "@" not in email:
        raise ValidationError(_("邮箱格式不正确"))
    with unit_of_work():
        org = db.session.scalar(
            select(Organization).where(
                Organization.kind == OrgKind.BUREAU, Organization.name == bureau
            )
        )
        if org is None:
            org = Organization(
                name=bureau, kind=OrgKind.BUREAU, status=OrgStatus.VERIFIED, verified_at=utcnow()
            )
            db.session.add(org)
            db.session.flush()
        user = find_user(email)
        if user is None:
            user = User(email=email, name=name, password_hash=hash_password(password))
            db.session.add(user)
            db.session.flush()
        else:
            user.password_hash = hash_password(password)
        membership = user.membership_in(org.id)
        if membership is None:
            db.session.add(Membership(user=user, org=org, role=Role.ADMIN))
        else:
            membership.role = Role.ADMIN
        audit.record("cli", "user.create_admin", user, org_id=org.id)
    return user


_DUMMY_HASH = PasswordHasher().hash("not a real password")
