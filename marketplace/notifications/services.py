"""Telling people things: the inbox row, then e-mail and SMS once it is committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale
from sqlalchemy import func, select, update

from ..clock import utcnow
from ..extensions import db
from ..mail import send_mail
from ..models import Membership, Organization, User
from ..unit_of_work import unit_of_work
from .models import Notification
from .sms import send_sms

log = logging.getLogger(__name__)

# (title, body) in the locale in force when it is called
Compose = Callable[[], tuple[str, str]]


@dataclass
class Notice:
    kind: str
    compose: Compose
    link: str | None = None
    key: str | None = None
    sms: bool = False  # also a text message to the organization's contact phone


def link_to(endpoint: str, **values) -> str:
    """The site path of ``endpoint`` (e.g. ``/vendor/orders/7``), in a request or a
    command alike (``url_for`` outside a request needs ``SERVER_NAME``)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _locale(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def org_members(org: Organization) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id, User.active.is_(True))
            .order_by(User.id)
        )
    )


def notify_users(users: Iterable[User], notice: Notice, org: Organization | None = None) -> int:
    """Put ``notice`` in each user's inbox (skipping a user who already has its key),
    commit, then e-mail each new recipient (and text ``org``'s contact phone when
    ``notice.sms``). Returns how many users were newly told. A channel that fails is
    logged; it never undoes the notice or the caller's work."""
    users = list(users)
    if not users:
        return 0
    delivered: list[tuple[User, str, str]] = []
    with unit_of_work():
        seen: set[int] = set()
        if notice.key is not None:
            seen = set(
                db.session.scalars(
                    select(Notification.user_id).where(
                        Notification.key == notice.key,
                        Notification.user_id.in_([u.id for u in users]),
                    )
                )
            )
        for user in users:
            if user.id in seen:
                continue
            with force_locale(_locale(user)):
                title, body = notice.compose()
            db.session.add(
                Notification(
                    user_id=user.id,
                    org_id=org.id if org is not None else None,
                    kind=notice.kind,
                    key=notice.key,
                    title=title[:200],
                    body=body,
                    link=notice.link,
                )
            )
            delivered.append((user, title, body))
    address = _absolute(notice.link)
    for user, title, body in delivered:
        _quietly(send_mail, user.email, title, body + (f"\n\n{address}" if address else ""))
    if notice.sms and delivered and org is not None and org.contact_phone:
        _quietly(send_sms, org.contact_phone, delivered[0][1])
    return len(delivered)


def _absolute(link: str | None) -> str | None:
    """The notice's page as an address for an e-mail (none from a command, which does
    not know the site's address)."""
    if not link or not has_request_context():
        return None
    return request.url_root.rstrip("/") + link


def notify_org(org: Organization, notice: Notice) -> int:
    """``notify_users`` for every active member of ``org``."""
    return notify_users(org_members(org), notice, org)


def _quietly(channel, *args) -> None:
    try:
        channel(*args)
    except Exception:  # a channel that fails never undoes the notice
        log.exception("notification channel %s failed", getattr(channel, "__name__", channel))


# ---------------------------------------------------------------- the inbox


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def inbox(user: User):
    """The user's notices, newest first (a select to paginate)."""
    return (
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    )


def open_notice(user: User, notice_id: int) -> Notification | None:
    """Mark one of the user's own notices read; None when it is not theirs."""
    with unit_of_work():
        notice = db.session.scalar(
            select(Notification).where(
                Notification.id == notice_id, Notification.user_id == user.id
            )
        )
        if notice is not None and notice.read_at is None:
            notice.read_at = utcnow()
    return notice


def mark_all_read(user: User) -> None:
    with unit_of_work():
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
