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
    data = event.get("data")
    intent = data.get("object") if isinstance(data, dict) else None
    if not isinstance(intent, dict) or not isinstance(event.get("id"), str):
        log.warning("stripe webhook refused: not an event about an object")
        return jsonify({"error": "malformed event"}), 400
    intent_id = intent.get("id")
    if not isinstance(intent_id, str):
        intent_id = None
    if kind == "payment_intent.succeeded" and intent_id:
        outcome = complete_payment(
            "stripe",
            intent_id,
            event_id=event["id"],
            event_type=kind,
            method=_method(gateway, intent),
        )
    elif kind == "payment_intent.payment_failed" and intent_id:
        error = intent.get("last_payment_error")
        message = error.get("message") if isinstance(error, dict) else None
        outcome = payment_failed(
            "stripe",
            intent_id,
            message if isinstance(message, str) else None,
            event_id=event["id"],
        )
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
    charges = _field(_field(intent, "charges"), "data") or []
    for charge in charges if isinstance(charges, list) else []:
        kind = _field(_field(charge, "payment_method_details"), "type")
        if isinstance(kind, str) and kind in METHODS:
            return METHODS[kind]
    types = intent.get("payment_method_types") or []
    if (
        isinstance(types, list)
        and len(types) == 1
        and isinstance(types[0], str)
        and types[0] in METHODS
    ):
        return METHODS[types[0]]
    payment_method = intent.get("payment_method")
    if isinstance(payment_method, dict):
        kind = payment_method.get("type")
        kind = kind if isinstance(kind, str) else None
    elif isinstance(payment_method, str) and payment_method:
        try:
            kind = gateway.client.v1.payment_methods.retrieve(payment_method).type
        except stripe.StripeError:
            log.warning("could not retrieve payment method %s", payment_method)
            kind = None
    else:
        kind = None
    return METHODS.get(kind or "", PaymentMethod.CARD)


def _field(value, name: str):
    """``value[name]`` when ``value`` is an object, else None (a malformed event)."""
    return value.get(name) if isinstance(value, dict) else None
