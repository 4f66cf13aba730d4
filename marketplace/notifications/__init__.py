"""The in-site inbox (站内消息) and the channels that reach people outside it.

Domain packages tell an organization's members (or one user) something with
``services.notify_org`` / ``services.notify_users``: each recipient gets an inbox row in
their own language, an e-mail through the kernel's ``Mailer``, and, when asked, a text
message through the SMS sender (``sms.py``; development logs it). A ``key`` makes a
notice idempotent: the same key is never delivered to the same user twice, so a daily
job can run again safely."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import models, views  # noqa: E402, F401
