"""Order e-mails: confirmation (paid), shipped, refunded; through Flask-Mail when
MAIL_SERVER is set, written to the log when it is not."""

from __future__ import annotations

import logging

import pytest

from marketplace.extensions import db
from marketplace.models import Role
from orders.shop.checkout import place_order
from orders.shop.fulfilment import cancel_by_buyer, ship_part
from orders.shop.notify import OrderNotifier
from orders.shop.payment import complete_payment, start_payment

from ..factories import MembershipFactory, UserFactory
from .test_shop_core import address, stocked_product


@pytest.fixture
def mailer(app, monkeypatch, outbox):
    """The app's notifier with a mail server configured (TESTING: nothing is sent,
    messages are recorded in ``outbox``)."""
    monkeypatch.setitem(app.extensions, "order_notifier", OrderNotifier(app))
    return outbox


def test_paid_shipped_and_refunded_mails(mailer):
    product = stocked_product(5, price=1800)
    buyer = UserFactory(email="buyer@example.cn")
    order = place_order(buyer, {product.id: 2}, address(), token="mail-1")
    complete_payment("test", start_payment(order).reference)
    vendor = MembershipFactory(org=product.vendor, role=Role.ADMIN).user
    ship_part(vendor, product.vendor, order.id, "顺丰速运", "SF000111")
    paid, shipped = mailer
    assert paid.recipients == ["buyer@example.cn"]
    assert order.number in paid.subject and "付款成功" in paid.subject
    assert product.name in paid.body and "¥36.00" in paid.body
    assert "顺丰速运" in shipped.body and "SF000111" in shipped.body


def test_refund_mail(mailer):
    product = stocked_product(5, price=1800)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="mail-2")
    complete_payment("test", start_payment(order).reference)
    cancel_by_buyer(buyer, order.id, "不要了")
    refunded = mailer[-1]
    assert "已退款" in refunded.subject and "¥18.00" in refunded.body


def test_mail_in_the_buyers_language(mailer):
    product = stocked_product(5)
    buyer = UserFactory(locale="en")
    db.session.commit()
    order = place_order(buyer, {product.id: 1}, address(), token="mail-3")
    complete_payment("test", start_payment(order).reference)
    assert order.number in mailer[0].subject


def test_without_a_mail_server_the_message_goes_to_the_log(app, caplog):
    assert not app.config.get("MAIL_SERVER")
    product = stocked_product(5)
    order = place_order(UserFactory(email="log@example.cn"), {product.id: 1}, address(), token="m4")
    with caplog.at_level(logging.INFO, logger="orders.shop.notify"):
        complete_payment("test", start_payment(order).reference)
    logged = [r.getMessage() for r in caplog.records if r.name == "orders.shop.notify"]
    assert len(logged) == 1
    assert "log@example.cn" in logged[0] and order.number in logged[0]
    assert product.name in logged[0]
