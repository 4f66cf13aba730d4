"""Stripe payments with the real ``stripe`` client against localstripe (a fake Stripe
server), started for the session on a free 127.0.0.1 port.

localstripe signs and POSTs its webhooks to a receiver registered with
``POST /_config/webhooks/<id>``; here the receiver is a tiny HTTP server that captures
each delivery, and the test replays it into the app's test client byte for byte with
its Stripe-Signature header. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.models import Role, utcnow
from orders.ledger.models import Attribution, Order, OrderStatus, Refund, RefundStatus
from orders.shop.fulfilment import cancel_part
from orders.shop.gateways import StripeGateway
from orders.shop.models import Payment, PaymentStatus
from orders.shop.refunds import settle_refunds

from ..factories import MembershipFactory, UserFactory
from ..stock_helpers import warehouse_level
from ..unit.test_shop_core import stocked_product

HOST = "127.0.0.1"
SECRET_KEY = "sk_test_localstripe_shop"
WEBHOOK_SECRET = "whsec_localstripe_shop"

# localstripe's own `start()`, but listening on 127.0.0.1 only (the command binds to
# every interface) and with nothing loaded from a previous run (--from-scratch).
LAUNCH = """
import logging, sys
from aiohttp import web
from localstripe.server import app
logger = logging.getLogger("aiohttp.access")
logger.setLevel(logging.INFO)
logger.addHandler(logging.StreamHandler())
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=logger, print=None)
"""


def _executable() -> str | None:
    return shutil.which("localstripe", path=str(Path(sys.executable).parent)) or shutil.which(
        "localstripe"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
        conn.request("GET", "/v1/customers", headers={"Authorization": f"Bearer {SECRET_KEY}"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _config_post(port: int, path: str, fields: dict) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    conn.request(
        "POST",
        path,
        body=urllib.parse.urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        response = conn.getresponse()
        assert response.status == 200, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    if _executable() is None:
        pytest.skip("localstripe is not installed (pip install -r requirements-dev.txt)")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"localstripe did not start on port {port}")
            time.sleep(0.1)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Delivery:
    signature: str
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Inbox:
    """Webhook deliveries localstripe made to our receiver."""

    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, test: Callable[[dict], bool], timeout: float = 15) -> Delivery:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for delivery in self.deliveries:
                    if test(delivery.event):
                        return delivery
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [d.event["type"] for d in self.deliveries]
                    raise AssertionError(f"no such webhook from localstripe; got {kinds}")
                self.arrived.wait(left)


@pytest.fixture(scope="session")
def inbox(localstripe) -> Iterator[Inbox]:
    box = Inbox()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with box.arrived:
                box.deliveries.append(Delivery(self.headers.get("Stripe-Signature", ""), body))
                box.arrived.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((HOST, 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = int(localstripe.rsplit(":", 1)[1])
    _config_post(
        port,
        "/_config/webhooks/shop-tests",
        {"url": f"http://{HOST}:{server.server_port}/", "secret": WEBHOOK_SECRET},
    )
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def stripe_app(app, localstripe, monkeypatch):
    for key, value in {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe_shop",
        "STRIPE_API_BASE": localstripe,
        "STRIPE_PAYMENT_METHODS": "card",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return app


@pytest.fixture
def stripe_client(localstripe) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})


def replay(client, delivery: Delivery):
    """The webhook exactly as localstripe sent it."""
    return client.post(
        "/webhooks/stripe",
        data=delivery.body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": delivery.signature,
        },
    )


def for_intent(kind: str, intent_id: str) -> Callable[[dict], bool]:
    return lambda e: e["type"] == kind and e["data"]["object"]["id"] == intent_id


def checkout(client, auth, *products) -> Order:
    """A buyer puts the products in the cart and places the order through the pages."""
    buyer = UserFactory()
    auth.login(buyer.email)
    for product in products:
        client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    page = client.get("/checkout").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/checkout",
        data={
            "token": token,
            "delivery_method": "address",
            "address_id": 0,
            "recipient": "李市民",
            "phone": "13800000000",
            "province": "海南省",
            "city": "海口市",
            "district": "龙华区",
            "detail": "滨海大道1号",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Order).where(Order.checkout_token == token))


def pay_page(client, order) -> str:
    response = client.get(f"/orders/{order.id}/pay")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def intent_of(order) -> Payment:
    db.session.expire_all()
    return db.session.scalar(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc())
    )


def attributed(order) -> tuple[int, int]:
    """(rows, net fen) of the order's attribution."""
    count, total = db.session.execute(
        select(func.count(Attribution.id), func.coalesce(func.sum(Attribution.amount), 0)).where(
            Attribution.order_id == order.id
        )
    ).one()
    return count, total


def on_hand_reserved(product) -> tuple[int, int]:
    db.session.expire_all()
    level = warehouse_level(product.id)
    return level.on_hand, level.reserved


def test_placing_an_order_creates_a_payment_intent_for_its_amount(
    client, auth, stripe_app, stripe_client
):
    order = checkout(client, auth, stocked_product(5, price=1990), stocked_product(5, price=350))
    assert order.total == 2 * 1990 + 2 * 350
    page = pay_page(client, order)
    payment = intent_of(order)
    intent = stripe_client.v1.payment_intents.retrieve(payment.reference)
    assert (intent.amount, intent.currency) == (order.total, "cny")
    assert intent.metadata["order_number"] == order.number
    assert payment.provider == "stripe" and payment.amount == order.total
    # the Payment Element page: Stripe.js from Stripe's host, our script, keys as data
    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert "/static/js/payment.js" in page
    assert f'data-client-secret="{intent.client_secret}"' in page
    assert 'data-publishable-key="pk_test_localstripe_shop"' in page
    assert f"/orders/{order.id}/return" in page
    assert "测试支付" not in page
    # coming back to the page continues the same attempt
    assert f'data-client-secret="{intent.client_secret}"' in pay_page(client, order)
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_paying_with_a_card_and_the_webhook_marks_the_order_paid_then_refunds_go_to_stripe(
    client, auth, stripe_app, stripe_client, inbox
):
    first, second = stocked_product(5, price=1200), stocked_product(5, price=800)
    order = checkout(client, auth, first, second)
    pay_page(client, order)
    reference = intent_of(order).reference
    assert on_hand_reserved(first) == (5, 2)

    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    assert stripe_client.v1.payment_intents.confirm(reference).status == "succeeded"
    delivery = inbox.wait_for(for_intent("payment_intent.succeeded", reference))
    for _ in range(10):  # Stripe may deliver an event more than once
        assert replay(client, delivery).status_code == 200

    db.session.expire_all()
    assert order.status == OrderStatus.PAID and order.payment_method == "card"
    assert intent_of(order).status == PaymentStatus.SUCCEEDED
    assert on_hand_reserved(first) == (3, 0) and on_hand_reserved(second) == (3, 0)
    assert attributed(order) == (4, order.total)  # 2 lines x 2 benefit links, once

    # the second vendor cancels its part: that line is refunded through Stripe
    vendor = MembershipFactory(org=second.vendor, role=Role.ADMIN).user
    cancel_part(vendor, second.vendor, order.id, "缺货")
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": reference}).data
    assert [r.amount for r in refunds] == [2 * 800]
    assert on_hand_reserved(second) == (5, 0)
    assert attributed(order)[1] == 2 * 1200

    # the buyer cancels the rest before it ships
    response = client.post(f"/orders/{order.id}/cancel", data={"reason": "不要了"})
    assert response.status_code == 302
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": reference}).data
    assert sorted(r.amount for r in refunds) == sorted([2 * 800, 2 * 1200])
    db.session.expire_all()
    assert order.refunded == order.total
    assert on_hand_reserved(first) == (5, 0)
    assert attributed(order)[1] == 0


def test_the_return_page_confirms_a_payment_by_asking_stripe(
    client, auth, stripe_app, stripe_client
):
    product = stocked_product(5, price=1500)
    order = checkout(client, auth, product)
    pay_page(client, order)
    reference = intent_of(order).reference
    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    stripe_client.v1.payment_intents.confirm(reference)
    # the buyer is back before any webhook arrived
    response = client.get(f"/orders/{order.id}/return?payment_intent={reference}")
    assert response.status_code == 302
    assert "付款成功" in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert order.status == OrderStatus.PAID
    assert attributed(order) == (2, order.total)
    assert on_hand_reserved(product) == (3, 0)


@pytest.mark.parametrize("first", ["webhook", "return"])
def test_the_webhook_and_the_buyers_return_in_either_order_pay_once(
    client, auth, stripe_app, stripe_client, inbox, first
):
    product = stocked_product(5, price=1500)
    order = checkout(client, auth, product)
    pay_page(client, order)
    reference = intent_of(order).reference
    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    stripe_client.v1.payment_intents.confirm(reference)
    delivery = inbox.wait_for(for_intent("payment_intent.succeeded", reference))
    arrivals = {
        "webhook": lambda: replay(client, delivery),
        "return": lambda: client.get(f"/orders/{order.id}/return?payment_intent={reference}"),
    }
    then = "return" if first == "webhook" else "webhook"

    assert arrivals[first]().status_code in (200, 302)
    assert arrivals[then]().status_code in (200, 302)

    db.session.expire_all()
    assert order.status == OrderStatus.PAID
    assert attributed(order) == (2, order.total)  # one sale: 2 benefit links, once
    assert on_hand_reserved(product) == (3, 0)
    succeeded = db.session.scalar(
        select(func.count(Payment.id)).where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED
        )
    )
    assert succeeded == 1


def test_a_declined_card_leaves_the_order_payable_with_a_new_attempt(
    client, auth, stripe_app, stripe_client, inbox
):
    product = stocked_product(5)
    order = checkout(client, auth, product)
    pay_page(client, order)
    reference = intent_of(order).reference
    stripe_client.v1.payment_intents.update(
        reference, params={"payment_method": "pm_card_chargeCustomerFail"}
    )
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(reference)
    delivery = inbox.wait_for(for_intent("payment_intent.payment_failed", reference))
    assert replay(client, delivery).status_code == 200
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert intent_of(order).status == PaymentStatus.FAILED
    assert on_hand_reserved(product) == (5, 2)  # still held for the buyer

    page = pay_page(client, order)  # shows the failure; a GET starts nothing
    assert 'data-testid="start-payment"' in page and intent_of(order).reference == reference
    page = client.post(f"/orders/{order.id}/pay", follow_redirects=True).get_data(as_text=True)
    retry = intent_of(order)
    assert retry.reference != reference and retry.status == PaymentStatus.CREATED
    assert 'data-testid="last-failure"' in page
    assert stripe_client.v1.payment_intents.retrieve(retry.reference).amount == order.total


def test_a_forged_webhook_is_refused(client, auth, stripe_app, stripe_client, inbox):
    product = stocked_product(5)
    order = checkout(client, auth, product)
    pay_page(client, order)
    reference = intent_of(order).reference
    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    stripe_client.v1.payment_intents.confirm(reference)
    delivery = inbox.wait_for(for_intent("payment_intent.succeeded", reference))
    forged = Delivery(delivery.signature, delivery.body.replace(b'"livemode"', b'"livemode" '))
    assert replay(client, forged).status_code == 400
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT and attributed(order) == (0, 0)


def test_a_refund_retried_after_a_failed_commit_refunds_once_at_stripe(
    client, auth, stripe_app, stripe_client, monkeypatch
):
    first, second = stocked_product(5, price=1200), stocked_product(5, price=800)
    order = checkout(client, auth, first, second)
    pay_page(client, order)
    reference = intent_of(order).reference
    stripe_client.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    stripe_client.v1.payment_intents.confirm(reference)
    client.get(f"/orders/{order.id}/return")  # paid through a verified retrieve
    db.session.expire_all()
    assert order.status == OrderStatus.PAID

    # Stripe refunds, then our commit of that fact fails (a lost connection, a crash)
    real_refund, real_commit = StripeGateway.refund, db.session.commit
    asked: list[tuple[str, bool]] = []
    failed: list[bool] = []

    def refund(gateway, intent_id, amount, key):
        asked.append((key, db.session().in_transaction()))
        return real_refund(gateway, intent_id, amount, key)

    def commit():
        if asked and not failed:
            failed.append(True)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return real_commit()

    monkeypatch.setattr(StripeGateway, "refund", refund)
    monkeypatch.setattr(db.session, "commit", commit)
    vendor = MembershipFactory(org=second.vendor, role=Role.ADMIN).user
    cancel_part(vendor, second.vendor, order.id, "缺货")  # the vendor sees no error

    assert failed
    stripe_refunds = stripe_client.v1.refunds.list(params={"payment_intent": reference}).data
    assert [r.amount for r in stripe_refunds] == [2 * 800]
    db.session.expire_all()
    record = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert (record.status, record.gateway_ref) == (RefundStatus.PENDING, None)
    assert asked == [(record.idempotency_key, False)]  # no transaction open during the call

    # the retry job finds the recorded refund, reuses its key, and finds Stripe's refund
    later = utcnow() + timedelta(minutes=5)
    assert settle_refunds(later) == (1, 0)
    assert settle_refunds(later) == (0, 0)

    stripe_refunds = stripe_client.v1.refunds.list(params={"payment_intent": reference}).data
    assert [r.amount for r in stripe_refunds] == [2 * 800]
    assert stripe_refunds[0].metadata["refund_key"] == record.idempotency_key
    db.session.expire_all()
    assert (record.status, record.gateway_ref) == (RefundStatus.SUCCEEDED, stripe_refunds[0].id)
    assert [key for key, _open in asked] == [record.idempotency_key] * 2
    assert order.refunded == 2 * 800 and attributed(order)[1] == 2 * 1200
