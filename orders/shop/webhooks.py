"""POST /webhooks/stripe: Stripe's signed events about PaymentIntents.

The signature (Stripe-Signature over the raw body, STRIPE_WEBHOOK_SECRET) is checked
before anything is read; a bad one is 400 and changes nothing. Each event id is
processed once (the PaymentEvent table's unique constraint, in the shop's services), so
Stripe may deliver an event as often as it likes. An event about an intent this app does
not know is acknowledged, so Stripe stops retrying it, and logged.
"""

from __future__ import annotations

import logging

import stripe
from flask import jsonify, request

from marketplace.extensions import csrf
from orders import bp
from orders.ledger.models import PaymentMethod
from orders.shop.gateways import GatewayError, InvalidWebhook, StripeGateway, gateway_named
from orders.shop.payment import complete_payment, payment_failed

log = logging.getLogger(__name__)

# Stripe's payment method types -> the ledger's payment methods
METHODS = {"card": PaymentMethod.CARD, "alipay": PaymentMethod.ALIPAY, "wechat_pay": "wechat"}


@csrf.exempt
@bp.route("/webhooks/stripe", methods=["POST"])
def stripe_webhook():
    try:
        gateway = gateway_named("stripe")
        event = gateway.parse_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    except (GatewayError, InvalidWebhook) as exc:
        log.warning("stripe webhook refused: %s", exc)
        return jsonify({"error": "invalid signature"}), 400
    kind = event.get("type")
    intent = (event.get("data") or {}).get("object") or {}
    intent_id = intent.get("id")
    if kind == "payment_intent.succeeded" and intent_id:
        outcome = complete_payment(
            "stripe",
            intent_id,
            event_id=event["id"],
            event_type=kind,
            method=_method(gateway, intent),
        )
    elif kind == "payment_intent.payment_failed" and intent_id:
        error = intent.get("last_payment_error") or {}
        outcome = payment_failed("stripe", intent_id, error.get("message"), event_id=event["id"])
    else:
        return jsonify({"received": True, "handled": False})
    if outcome.message == "unknown payment":
        log.warning(
            "stripe webhook %s (%s) for unknown payment intent %s: acknowledged",
            event["id"],
            kind,
            intent_id,
        )
    return jsonify({"received": True, "outcome": outcome.status})


def _method(gateway: StripeGateway, intent: dict) -> str:
    """How the buyer paid, from the event where it says so, else from the payment method
    itself (asked of Stripe); card when nothing tells."""
    charges = (intent.get("charges") or {}).get("data") or []
    for charge in charges:
        kind = (charge.get("payment_method_details") or {}).get("type")
        if kind in METHODS:
            return METHODS[kind]
    types = intent.get("payment_method_types") or []
    if len(types) == 1 and types[0] in METHODS:
        return METHODS[types[0]]
    payment_method = intent.get("payment_method")
    if isinstance(payment_method, dict):
        kind = payment_method.get("type")
    elif isinstance(payment_method, str) and payment_method:
        try:
            kind = gateway.client.v1.payment_methods.retrieve(payment_method).type
        except stripe.StripeError:
            log.warning("could not retrieve payment method %s", payment_method)
            kind = None
    else:
        kind = None
    return METHODS.get(kind or "", PaymentMethod.CARD)
