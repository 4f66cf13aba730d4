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

from marketplace.clock import local_today
from marketplace.mail import Mailer
from marketplace.notifications.services import Notice, link_to, notify_org
from orders.ledger.models import Order
from vendors.services import below_threshold

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
    committed, and on payment each vendor of the order (inbox and e-mail: a new order
    to ship, and any of its products the sale left low in stock); a notification that
    fails is logged and never undoes the sale. With the notifier switched off (the demo
    loader) nobody is told."""
    sender = current_app.extensions.get("order_notifier")
    if sender is not None:
        try:
            sender(kind, order)
            if kind == "paid":
                tell_vendors(order)
        except Exception:  # a notification never undoes a sale
            log.exception("notification %s for %s failed", kind, order.number)


def tell_vendors(order: Order) -> None:
    """Each vendor of a paid order: a new order to ship, and the products it left low."""
    by_vendor: dict[int, list] = {}
    for line in order.lines:
        by_vendor.setdefault(line.vendor_id, []).append(line)
    low = {
        pid: (units, threshold)
        for pid, units, threshold in below_threshold(line.product_id for line in order.lines)
    }
    for lines in by_vendor.values():
        vendor = lines[0].vendor

        def compose(lines=lines) -> tuple[str, str]:
            title = _("新订单 %(n)s 待发货", n=order.number)
            body = "\n".join(f"{line.product_name} × {line.quantity} {line.unit}" for line in lines)
            return title, body

        notify_org(
            vendor,
            Notice(
                kind="order.paid",
                compose=compose,
                link=link_to("orders.vendor_order", order_id=order.id),
                key=f"order-paid:{order.id}",
            ),
        )
        today = local_today().isoformat()
        for line in lines:
            if line.product_id not in low:
                continue
            units, threshold = low[line.product_id]

            def compose_low(line=line, units=units, threshold=threshold) -> tuple[str, str]:
                title = _("%(product)s 库存不足：可售 %(n)d", product=line.product_name, n=units)
                body = _("低于设定的提醒值 %(t)d，请及时补货。", t=threshold)
                return title, body

            notify_org(
                vendor,
                Notice(
                    kind="stock.low",
                    compose=compose_low,
                    link=link_to("vendors.stock_product", product_id=line.product_id),
                    key=f"stock-low:{line.product_id}:{today}",
                ),
            )
