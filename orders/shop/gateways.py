"""Payment gateways behind one small interface.

``StripeGateway`` talks to Stripe (or, in tests, to localstripe at STRIPE_API_BASE) with
the official client; ``TestGateway`` is the clearly marked local gateway used when no
Stripe keys are set, so the embedded default works offline. Both end in the same
``orders.shop.payment.complete_payment`` service.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol

import stripe
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from orders.ledger.models import Order

# the metadata field of a Stripe refund holding our refund's idempotency key
REFUND_KEY = "refund_key"


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is for the log."""


class InvalidWebhook(Exception):
    """A webhook whose signature or body does not check out."""


@dataclass
class PaymentStart:
    reference: str  # PaymentIntent id, or the test gateway's token
    client_secret: str | None = None  # for Stripe.js


@dataclass
class RemoteState:
    status: str  # "succeeded", "failed", "pending", "canceled"
    message: str | None = None


class Gateway(Protocol):
    name: str

    def start(self, order: Order, attempt: int) -> PaymentStart: ...

    def state(self, reference: str) -> RemoteState: ...

    def refund(self, reference: str, amount: int, key: str) -> str:
        """Give ``amount`` back once per ``key``, however often asked (a retry reuses
        the key); the gateway's reference of the refund."""
        ...


class StripeGateway:
    name = "stripe"

    def __init__(self, config: dict):
        self.secret_key = config["STRIPE_SECRET_KEY"]
        self.publishable_key = config.get("STRIPE_PUBLISHABLE_KEY")
        self.webhook_secret = config.get("STRIPE_WEBHOOK_SECRET")
        self.methods = [
            m.strip()
            for m in config.get("STRIPE_PAYMENT_METHODS", "card,alipay,wechat_pay").split(",")
            if m.strip()
        ]
        addresses = {"api": config["STRIPE_API_BASE"]} if config.get("STRIPE_API_BASE") else {}
        self.client = stripe.StripeClient(
            self.secret_key, base_addresses=addresses, max_network_retries=2
        )

    def start(self, order: Order, attempt: int) -> PaymentStart:
        """A PaymentIntent in CNY for the server-computed amount; the idempotency key is
        derived from the order and attempt, so a retried request makes no second one."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": order.amount_due,
                    "currency": "cny",
                    "payment_method_types": self.methods,
                    "metadata": {"order_number": order.number},
                },
                options={"idempotency_key": f"order-{order.number}-attempt-{attempt}"},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return PaymentStart(intent.id, intent.client_secret)

    def state(self, reference: str) -> RemoteState:
        try:
            intent = self.client.v1.payment_intents.retrieve(reference)
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        if intent.status == "succeeded":
            return RemoteState("succeeded")
        if intent.status == "canceled":
            return RemoteState("canceled")
        error = getattr(intent, "last_payment_error", None)
        if intent.status == "requires_payment_method" and error:
            message = error.get("message") if isinstance(error, dict) else error.message
            return RemoteState("failed", message)
        return RemoteState("pending")

    def client_secret(self, reference: str) -> str:
        """The intent's client secret for Stripe.js (never stored: asked for again when
        the buyer comes back to an attempt already started)."""
        try:
            return self.client.v1.payment_intents.retrieve(reference).client_secret
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def refund(self, reference: str, amount: int, key: str) -> str:
        """The refund made under ``key``: one made already (found among the intent's
        refunds by the key in its metadata: a retry after our commit failed once Stripe
        had refunded), else a new one requested with ``key`` as the idempotency key.
        Stripe honours the key for a day; the lookup covers any time after, and
        localstripe, which ignores keys."""
        try:
            earlier = self.client.v1.refunds.list(
                params={"payment_intent": reference, "limit": 100}
            )
            for refund in earlier.auto_paging_iter():
                if (refund.to_dict().get("metadata") or {}).get(REFUND_KEY) == key:
                    return refund.id
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": reference,
                    "amount": amount,
                    "metadata": {REFUND_KEY: key},
                },
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return refund.id

    def parse_webhook(self, payload: bytes, signature: str | None) -> dict:
        """The event, if it is signed with STRIPE_WEBHOOK_SECRET exactly as Stripe signs."""
        if not self.webhook_secret:
            raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise InvalidWebhook(str(exc)) from exc
        except (AttributeError, TypeError) as exc:  # signed, but not a JSON object
            raise InvalidWebhook("the event is not a JSON object") from exc
        return event.to_dict()


class TestGateway:
    """The local test gateway (测试支付): no money moves. A payment is a token signed
    with the app's secret key, so a URL cannot be forged to pay another order or amount."""

    name = "test"

    def __init__(self, config: dict):
        self.serializer = URLSafeSerializer(config["SECRET_KEY"], salt="test-gateway")

    def start(self, order: Order, attempt: int) -> PaymentStart:
        digest = hashlib.sha256(f"{order.number}:{attempt}".encode()).hexdigest()[:16]
        return PaymentStart(f"test_{order.number}_{attempt}_{digest}")

    def token(self, order: Order, reference: str) -> str:
        """What the test payment page posts back: order, amount and reference, signed."""
        return self.serializer.dumps(
            {"order": order.number, "amount": order.amount_due, "reference": reference}
        )

    def verify(self, token: str) -> dict:
        try:
            data = self.serializer.loads(token)
        except BadSignature as exc:
            raise InvalidWebhook("bad test-gateway signature") from exc
        if not isinstance(data, dict) or set(data) != {"order", "amount", "reference"}:
            raise InvalidWebhook("malformed test-gateway token")
        return data

    def state(self, reference: str) -> RemoteState:
        return RemoteState("pending")

    def refund(self, reference: str, amount: int, key: str) -> str:
        return "test_refund_" + hmac.new(b"test", key.encode(), hashlib.sha256).hexdigest()[:16]


def test_gateway_allowed(config) -> bool:
    """The local test gateway moves no money, so it is never used when Stripe is
    configured, and in production only when ALLOW_TEST_GATEWAY=1 (a trial run)."""
    if config.get("STRIPE_SECRET_KEY"):
        return False
    return config.get("APP_ENV") != "production" or bool(config.get("ALLOW_TEST_GATEWAY"))


def gateway() -> StripeGateway | TestGateway:
    """Stripe when its secret key is configured, else the local test gateway where it is
    allowed; otherwise online payment is not available."""
    config = current_app.config
    if config.get("STRIPE_SECRET_KEY"):
        return StripeGateway(config)
    if not test_gateway_allowed(config):
        raise GatewayError("online payment is not configured (set the STRIPE_* keys)")
    return TestGateway(config)


def gateway_named(name: str) -> StripeGateway | TestGateway:
    config = current_app.config
    if name == "stripe":
        if not config.get("STRIPE_SECRET_KEY"):
            raise GatewayError("Stripe is not configured")
        return StripeGateway(config)
    return TestGateway(config)


__all__ = [
    "Gateway",
    "GatewayError",
    "InvalidWebhook",
    "PaymentStart",
    "RemoteState",
    "StripeGateway",
    "TestGateway",
    "gateway",
    "gateway_named",
    "json",
]
