"""Sending e-mail: through Flask-Mail when MAIL_SERVER is set; without a mail server
(development, the embedded default) the message is written to the log instead.

``app.extensions["mailer"]`` sends the kernel's own mail (registration); the order
notifier in orders/ is a ``Mailer`` too.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from flask_mail import Mail, Message

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, app: Flask, logger: logging.Logger = log):
        self.mail = Mail(app) if app.config.get("MAIL_SERVER") else None
        self.log = logger

    def send(self, recipient: str, subject: str, body: str) -> None:
        if self.mail is None:
            self.log.info("mail (MAIL_SERVER unset) to %s: %s\n%s", recipient, subject, body)
            return
        self.mail.send(Message(subject=subject, recipients=[recipient], body=body))


def init_mailer(app: Flask) -> None:
    app.extensions["mailer"] = Mailer(app)


def send_mail(recipient: str, subject: str, body: str) -> None:
    current_app.extensions["mailer"].send(recipient, subject, body)
