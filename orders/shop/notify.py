"""Buyer notifications: order confirmation (paid), shipped, refunded.

The shop's services call the ``order_notifier`` registry (marketplace/registries.py;
the app factory fills it with ``OrderNotifier``) after the change is committed. The
message is rendered from ``templates/orders/email/<kind>.txt`` in the buyer's language
and sent by the kernel's ``Mailer`` (Flask-Mail, or the log without a mail server).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from marketplace.mail import Mailer
from orders.ledger.models import Order

log = logging.getLogger(__name__)

KINDS = ("paid", "shipped", "at_station", "after_sales", "refunded")


def _subject(kind: str, order: Order) -> str:
    subjects = {
        "paid": _("订单 %(n)s 付款成功", n=order.number),
        "shipped": _("订单 %(n)s 已发货", n=order.number),
        "at_station": _("订单 %(n)s 已到自提点，请凭取件码取货", n=order.number),
        "refunded": _("订单 %(n)s 已退款", n=order.number),
        "after_sales": _("订单 %(n)s 的售后申请有新进展", n=order.number),
    }
    return subjects[kind]


def _order_url(order: Order) -> str | None:
    try:
        return url_for("orders.order_detail", order_id=order.id, _external=True)
    except RuntimeError:  # a command without SERVER_NAME: no absolute address to give
        return None


class OrderNotifier(Mailer):
    """Callable notifier: ``notifier("paid", order)``."""

    def __init__(self, app: Flask):
        super().__init__(app, log)

    def render(self, kind: str, order: Order) -> tuple[str, str]:
        """(subject, body) in the buyer's language."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification {kind!r}")
        buyer = order.buyer_user
        languages = current_app.config["LANGUAGES"]
        locale = (
            buyer.locale
            if buyer is not None and buyer.locale in languages
            else current_app.config["BABEL_DEFAULT_LOCALE"]
        )
        with force_locale(locale):
            subject = _subject(kind, order)
            body = render_template(
                f"orders/email/{kind}.txt",
                order=order,
                buyer=buyer,
                shipped=[s for s in order.shipments if s.shipped_at],
                url=_order_url(order),
            )
        return subject, body

    def __call__(self, kind: str, order: Order) -> None:
        buyer = order.buyer_user
        if buyer is None or not buyer.email:
            return
        subject, body = self.render(kind, order)
        self.send(buyer.email, subject, body)


def notify(kind: str, order: Order) -> None:
    """Tell the buyer, through the ``order_notifier`` registry, once the change is
    committed; a notification that fails is logged and never undoes the sale."""
    sender = current_app.extensions.get("order_notifier")
    if sender is not None:
        try:
            sender(kind, order)
        except Exception:  # a notification never undoes a sale
            log.exception("notification %s for %s failed", kind, order.number)
