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
