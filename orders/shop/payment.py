"""Paying an online order: the payment attempt on the configured gateway, and its
outcome. Every confirmation (Stripe's webhook, the return page's verified retrieve, the
local test gateway's signed form) ends in ``complete_payment``, which commits the
reserved stock as sold and calls the ledger's ``mark_paid`` (the paid-sale core:
certified flags, attribution, audit) in the same transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace import audit
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import User
from marketplace.unit_of_work import lock_row, transition, unit_of_work
from orders.ledger import services as ledger
from orders.ledger.models import Order, OrderStatus, Refund
from orders.shop.expiry import expire_if_due
from orders.shop.gateways import (
    GatewayError,
    InvalidWebhook,
    TestGateway,
    gateway,
    gateway_named,
    test_gateway_allowed,
)
from orders.shop.models import Payment, PaymentEvent, PaymentStatus
from orders.shop.notify import notify
from orders.shop.parts import warehouse_goods
from orders.shop.queries import buyer_order
from orders.shop.refunds import owe_through_gateway, settle_and_tell
from vendors import stock
from vendors.stock import OutOfStock, Ref

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- the attempt


def current_payment(order: Order) -> Payment | None:
    """The order's open attempt on the configured gateway, if it has one; creates nothing
    (what the payment page shows on a GET)."""
    chosen = gateway()
    active = next(
        (
            p
            for p in order.payments
            if p.status == PaymentStatus.CREATED and p.provider == chosen.name
        ),
        None,
    )
    if active is not None and active.provider == "stripe":
        # the client secret is not stored: ask Stripe
        active.client_secret = gateway_named("stripe").client_secret(active.reference)
    return active


def start_payment(order: Order) -> Payment:
    """The open payment attempt of an unpaid order through the configured gateway, or a
    new one when it has none. Two pages opened at once compute the same attempt, and the
    gateway gives both the same reference (Stripe by the idempotency key): the second
    insert then finds the first one's row, and both pages continue that attempt."""
    expire_if_due(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise IllegalTransition(_("订单当前状态不能付款"))
    active = current_payment(order)
    if active is not None:
        return active
    chosen = gateway()
    attempt = len(order.payments) + 1
    start = chosen.start(order, attempt)  # outside the transaction: a network call
    try:
        with unit_of_work():
            payment = Payment(
                order_id=order.id,
                provider=chosen.name,
                reference=start.reference,
                amount=order.amount_due,
                currency="cny",
                status=PaymentStatus.CREATED,
            )
            db.session.add(payment)
    except IntegrityError:  # the same attempt, started by a concurrent request
        payment = db.session.scalar(
            select(Payment).where(
                Payment.provider == chosen.name, Payment.reference == start.reference
            )
        )
        if payment is None or payment.order_id != order.id:
            raise
    payment.client_secret = start.client_secret  # not stored: handed to Stripe.js only
    return payment


# ---------------------------------------------------------------- the outcome


@dataclass
class Outcome:
    status: str  # "paid", "already_paid", "refunded", "ignored"
    order: Order | None = None
    message: str | None = None


def complete_payment(
    provider: str,
    reference: str,
    *,
    event_id: str | None = None,
    event_type: str = "payment_succeeded",
    method: str = "card",
) -> Outcome:
    """A payment the gateway confirmed: every channel (Stripe's webhook, the return
    page's retrieve, the test gateway) ends here. Idempotent: by event id (each event
    once) and by order status, read under the order's row lock and afresh, and changed
    by a guarded update (``mark_paid``), so the same confirmation arriving several times
    at once sells the order once and the others answer ``already_paid``. If the
    reservation had expired, the stock is reserved again when it can be; otherwise the
    payment is refunded in full (after the commit, see ``settle_refund``) and the buyer
    told why."""
    late_refund: Refund | None = None
    with unit_of_work():
        if event_id is not None and not _first_time(provider, event_id, event_type):
            return Outcome("ignored", message="duplicate event")
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.reference == reference)
        )
        if payment is None:
            log.warning("payment %s/%s: no such payment; acknowledged", provider, reference)
            return Outcome("ignored", message="unknown payment")
        # the instance loaded earlier in the request may say pending_payment although a
        # concurrent confirmation has paid it since: lock the row and read it afresh
        order = lock_row(Order, payment.order_id)
        # and the attempt too, read after the lock: a concurrent confirmation of this
        # same attempt has set it succeeded (and it is then no second payment to refund)
        db.session.refresh(payment)
        confirmed_before = payment.status == PaymentStatus.SUCCEEDED
        payment.status = PaymentStatus.SUCCEEDED
        if order.is_paid or order.paid_at is not None:  # sold already (maybe refunded since)
            if confirmed_before:  # the same confirmation again
                return Outcome("already_paid", order)
            # a second, different attempt also succeeded: its money is not kept
            late_refund = _refund_second_payment(order, payment)
        elif order.status == OrderStatus.CANCELLED:
            late_refund = _late_refund_of(payment) or _reserve_again_or_refund(order, payment)
        if late_refund is None:
            try:
                # the paid-sale core: the guarded claim, then the reserved stock leaves as
                # sold, attribution and audit, in this transaction
                ledger.mark_paid(
                    order, payment_method=method, actor="payment", stock_from=ledger.STOCK_RESERVED
                )
            except IllegalTransition:
                db.session.refresh(order)
                if order.is_paid:  # paid by a concurrent request (SQLite: no row locks)
                    return Outcome("already_paid", order)
                raise
            _record_event_order(provider, event_id, order)
        refund_id = late_refund.id if late_refund is not None else None
    if refund_id is not None:
        settle_and_tell(order, refund_id)
        return Outcome("refunded", order, late_refund.reason)
    notify("paid", order)
    return Outcome("paid", order)


def _refund_second_payment(order: Order, payment: Payment) -> Refund:
    """A payment that succeeded on an order another payment had already paid: record
    its full refund (pending, its own key, one per payment), to be settled through the
    gateway once committed. The sale itself is untouched."""
    refund = Refund(
        order_id=order.id,
        amount=payment.amount,
        reason=_("订单已由另一笔付款支付，重复付款已全额退回"),
    )
    db.session.add(refund)
    owe_through_gateway(refund, payment, f"duplicate-{order.number}-{payment.id}")
    audit.record(
        "system",
        "order.duplicate_payment_refunded",
        order,
        object_type="orders",
        changes={"amount": payment.amount, "refund": refund.idempotency_key},
    )
    return refund


def _late_refund_of(payment: Payment) -> Refund | None:
    """The refund already owed for this payment of an order that was never sold (a
    repeated confirmation of a late payment must not reserve stock or refund again)."""
    return db.session.scalar(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id).limit(1)
    )


def _reserve_again_or_refund(order: Order, payment: Payment) -> Refund | None:
    """A payment for an order whose reservation expired: reserve its stock again and
    reopen it and its parts (None), all or nothing; if the stock is gone, record the
    full refund of the payment instead (the order stays cancelled)."""
    try:
        # a savepoint: a multi-line reservation that fails part-way leaves nothing
        with db.session.begin_nested():
            stock.reserve(warehouse_goods(order), Ref("order", order.number, "payment"))
            if not transition(order, OrderStatus.CANCELLED, status=OrderStatus.PENDING_PAYMENT):
                raise IllegalTransition(_("订单当前状态不能确认收款"))
            for shipment in order.shipments:
                if shipment.is_cancelled:
                    shipment.reopen()
        return None
    except OutOfStock as exc:
        db.session.refresh(order)
        order.note = _("付款时预留已过期且库存不足，款项已全额退回：%(m)s", m=exc.message)
        refund = Refund(order_id=order.id, amount=payment.amount, reason=order.note)
        db.session.add(refund)
        # one late refund per payment: the key is unique
        owe_through_gateway(refund, payment, f"late-{order.number}-{payment.id}")
        audit.record(
            "system",
            "order.late_payment_refunded",
            order,
            object_type="orders",
            changes={"amount": payment.amount, "refund": refund.idempotency_key},
        )
        return refund


def confirm_test_payment(buyer: User, order_id: int, token: str, succeeded: bool) -> Outcome:
    """The local test gateway's 支付成功 / 支付失败 buttons. The posted token is signed,
    and must name this buyer's order, its amount and one of its test-gateway attempts;
    anything else (another order, a lower amount, a forged token) changes nothing.
    Success ends in ``complete_payment``, as a Stripe payment does."""
    order = buyer_order(buyer, order_id)
    refused = ValidationError(_("支付凭证无效，请返回订单重新发起支付"))
    if not test_gateway_allowed(current_app.config):
        raise refused  # a real gateway is configured: test payments move no money
    try:
        data = TestGateway(current_app.config).verify(token or "")
    except InvalidWebhook:
        raise refused from None
    payment = next(
        (p for p in order.payments if p.provider == "test" and p.reference == data["reference"]),
        None,
    )
    if (
        payment is None
        or data["order"] != order.number
        or data["amount"] != order.amount_due
        or payment.amount != order.amount_due
    ):
        raise refused
    if succeeded:
        return complete_payment("test", payment.reference)
    return payment_failed("test", payment.reference, _("测试支付：选择了支付失败"))


def payment_failed(
    provider: str, reference: str, message: str | None, *, event_id: str | None = None
) -> Outcome:
    """The attempt failed: mark it so the buyer can retry (the reservation stands)."""
    with unit_of_work():
        if event_id is not None and not _first_time(provider, event_id, "payment_failed"):
            return Outcome("ignored", message="duplicate event")
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.reference == reference)
        )
        if payment is None:
            return Outcome("ignored", message="unknown payment")
        # guarded: a success confirmed at the same moment is never marked failed
        transition(
            payment,
            PaymentStatus.CREATED,
            status=PaymentStatus.FAILED,
            failure_message=(message or "")[:500] or None,
        )
        return Outcome("failed", payment.order)


def _first_time(provider: str, event_id: str, event_type: str) -> bool:
    """Record the event; False when it was already processed (unique constraint)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                PaymentEvent(provider=provider, event_id=event_id, event_type=event_type)
            )
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _record_event_order(provider: str, event_id: str | None, order: Order) -> None:
    if event_id is not None:
        db.session.execute(
            update(PaymentEvent)
            .where(PaymentEvent.provider == provider, PaymentEvent.event_id == event_id)
            .values(order_id=order.id, outcome="paid")
        )


def sync_payment(order: Order) -> Outcome | None:
    """The return page asks the gateway directly (a verified server-side retrieve)."""
    for payment in order.payments:
        if payment.provider != "stripe" or payment.status != PaymentStatus.CREATED:
            continue
        try:
            remote = gateway_named("stripe").state(payment.reference)
        except GatewayError:
            log.exception("retrieve failed for %s", payment.reference)
            return None
        if remote.status == "succeeded":
            return complete_payment("stripe", payment.reference)
        if remote.status == "failed":
            return payment_failed("stripe", payment.reference, remote.message)
    return None
