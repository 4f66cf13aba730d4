"""The registration mails: the link that creates a new account, and, for an address that
already has one, a note saying so (instead of telling whoever filled in the form)."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from ..mail import send_mail
from ..models import User


def registration_link(email: str, name: str, token: str) -> None:
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    body = render_template(
        "accounts/email/register_link.txt",
        name=name,
        url=url_for("auth.confirm_registration", token=token, _external=True),
        hours=hours,
    )
    send_mail(email, _("请确认邮箱，完成注册"), body)


def account_exists(user: User) -> None:
    languages = current_app.config["LANGUAGES"]
    locale = user.locale if user.locale in languages else str(get_locale() or "zh_CN")
    with force_locale(locale):
        subject = _("您已经注册过消费帮扶商城")
        body = render_template(
            "accounts/email/account_exists.txt",
            user=user,
            login_url=url_for("auth.login", _external=True),
        )
    send_mail(user.email, subject, body)


def _locale_of(user: User | None) -> str:
    languages = current_app.config["LANGUAGES"]
    if user is not None and user.locale in languages:
        return user.locale
    return str(get_locale() or "zh_CN")


def reset_link(user: User, token: str, minutes: int) -> None:
    with force_locale(_locale_of(user)):
        subject = _("重设您的密码")
        body = render_template(
            "accounts/email/reset_link.txt",
            user=user,
            url=url_for("auth.reset_password", token=token, _external=True),
            minutes=minutes,
        )
    send_mail(user.email, subject, body)


def reset_unknown(email: str) -> None:
    """Someone asked to reset the password of an address with no account: its owner
    learns so (and how to register), whoever typed it learns nothing."""
    with force_locale(_locale_of(None)):
        subject = _("重设密码：这个邮箱没有账号")
        body = render_template(
            "accounts/email/reset_unknown.txt",
            register_url=url_for("auth.register", _external=True),
        )
    send_mail(email, subject, body)
