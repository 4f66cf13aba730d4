"""POST /webhooks/stripe without a network: events signed here exactly as Stripe signs
them (``t=<ts>,v1=<hex hmac-sha256 of "<ts>.<payload>">``) about a payment row that
stands for a PaymentIntent."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from orders.ledger.models import Attribution, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.models import Payment, PaymentEvent, PaymentStatus
from vendors import stock

from ..factories import UserFactory
from ..stock_helpers import warehouse_level
from .test_shop_core import address, stocked_product

SECRET = "whsec_unit_test_secret"


@pytest.fixture
def stripe_config(app, monkeypatch):
    """Stripe 'configured', pointing at a closed local port: nothing may be contacted."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_unit")
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = timestamp or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event(kind: str, intent: dict, event_id: str = "evt_1") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": {"object": "payment_intent", **intent}},
        }
    ).encode()


def deliver(client, payload: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Stripe-Signature"] = signature or sign(payload)
    return client.post("/webhooks/stripe", data=payload, headers=headers)


@pytest.fixture
def intent_order(stripe_config):
    """An order waiting for the PaymentIntent pi_unit_1 (as start_payment would record)."""
    product = stocked_product(5, price=2000)
    order = place_order(UserFactory(), {product.id: 2}, address(), token="wh-1")
    db.session.add(
        Payment(order_id=order.id, provider="stripe", reference="pi_unit_1", amount=4000)
    )
    db.session.commit()
    return order, product


def succeeded(**extra) -> dict:
    return {"id": "pi_unit_1", "amount": 4000, "currency": "cny", "status": "succeeded", **extra}


def rows(order) -> int:
    return db.session.scalar(
        select(func.count(Attribution.id)).where(Attribution.order_id == order.id)
    )


def test_a_bad_signature_is_400_and_changes_nothing(client, intent_order):
    order, product = intent_order
    payload = event("payment_intent.succeeded", succeeded())
    assert deliver(client, payload, sign(payload, "whsec_wrong")).status_code == 400
    assert deliver(client, payload, False).status_code == 400
    assert deliver(client, payload, "t=1,v1=deadbeef").status_code == 400
    tampered = payload.replace(b'"amount": 4000', b'"amount": 4001')
    assert deliver(client, tampered, sign(payload)).status_code == 400
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT and rows(order) == 0
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 0
    assert stock.available(product.id) == 3


def test_the_same_event_ten_times_pays_once(client, intent_order):
    order, product = intent_order
    payload = event("payment_intent.succeeded", succeeded(payment_method_types=["alipay"]))
    answers = [deliver(client, payload).status_code for _ in range(10)]
    assert answers == [200] * 10
    db.session.expire_all()
    assert order.status == OrderStatus.PAID and order.payment_method == "alipay"
    assert rows(order) == 2  # one set: two benefit links, one line
    assert db.session.scalar(select(func.sum(Attribution.amount))) == 4000
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 1
    payments = db.session.scalars(select(Payment)).all()
    assert [(p.status, p.amount) for p in payments] == [(PaymentStatus.SUCCEEDED, 4000)]
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (3, 0)


def test_a_second_event_for_a_paid_intent_changes_nothing(client, intent_order):
    order, _product = intent_order
    deliver(client, event("payment_intent.succeeded", succeeded(), "evt_a"))
    deliver(client, event("payment_intent.succeeded", succeeded(), "evt_b"))
    db.session.expire_all()
    assert order.status == OrderStatus.PAID and rows(order) == 2


def test_an_event_for_an_unknown_intent_is_acknowledged_and_logged(client, intent_order, caplog):
    order, _product = intent_order
    payload = event("payment_intent.succeeded", succeeded(id="pi_nobody"), "evt_unknown")
    with caplog.at_level(logging.WARNING, logger="orders.shop.webhooks"):
        response = deliver(client, payload)
    assert response.status_code == 200
    assert any(
        "pi_nobody" in r.getMessage() and "unknown" in r.getMessage() for r in caplog.records
    )
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_payment_failed_marks_the_attempt_and_keeps_the_order_payable(client, intent_order):
    order, product = intent_order
    failed = {
        "id": "pi_unit_1",
        "status": "requires_payment_method",
        "last_payment_error": {"message": "Your card was declined."},
    }
    assert (
        deliver(client, event("payment_intent.payment_failed", failed, "evt_f")).status_code == 200
    )
    db.session.expire_all()
    payment = db.session.scalar(select(Payment))
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "Your card was declined."
    assert order.status == OrderStatus.PENDING_PAYMENT and stock.available(product.id) == 3


def test_other_event_types_are_acknowledged(client, intent_order):
    order, _product = intent_order
    payload = event("customer.created", {"id": "cus_1"}, "evt_other")
    assert deliver(client, payload).status_code == 200
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_webhook_needs_no_csrf_token(app, client, intent_order, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    payload = event("payment_intent.succeeded", succeeded(), "evt_csrf")
    assert deliver(client, payload).status_code == 200
