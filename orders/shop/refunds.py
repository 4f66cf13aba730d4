"""Money given back: a refund of some lines recorded in the ledger with its restock and
the gateway refund it owes, and the settlement of that debt through the gateway, outside
any transaction, at most once (retried by ``flask orders expire``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.ledger import services as ledger
from orders.ledger.models import Order, Refund, RefundStatus
from orders.shop.gateways import GatewayError, gateway_named
from orders.shop.models import Payment, PaymentStatus, Shipment
from orders.shop.notify import notify
from orders.shop.parts import warehouse_goods
from vendors import stock
from vendors.stock import Ref

log = logging.getLogger(__name__)

# a request that claimed a gateway refund and did not finish (it died) is taken over
# after this long by the next attempt (`flask orders expire`)
REFUND_CLAIM = timedelta(minutes=2)


def refund_lines(
    order: Order,
    quantities: Mapping[int, int],
    reason: str,
    actor: User | str,
    key: str,
    *,
    restock_lines: set[int] | None = None,
    exact_key: bool = False,
) -> Refund | None:
    """Refund some lines in full or part, in the caller's transaction (the order locked
    and read afresh): the ledger's opposite attribution rows, the restock, and the
    gateway refund owed (pending, with its own idempotency key). No gateway is called
    here: the caller settles the refund once this is committed (``settle_refund``).
    ``restock_lines`` limits the restock to those lines (goods already with the buyer
    do not come back on hand). With ``exact_key`` the key names this one refund (a
    one-time form token): it is kept on the refund even without a gateway payment, so
    the same key can never refund twice (the column is unique).

    A refund that leaves every line of a vendor's part refunded in full gives back that
    part's shipping fee too (once); a refund of some of a part's goods does not."""
    items = [(line_id, qty) for line_id, qty in quantities.items() if qty > 0]
    if not items:
        return None
    back = {
        line_id: qty for line_id, qty in items if restock_lines is None or line_id in restock_lines
    }
    with unit_of_work():
        whole = _parts_refunded_whole(order, dict(items))
        record = ledger.refund(
            order,
            items,
            reason=reason,
            actor=actor,
            shipping_fen=sum(s.shipping_fen for s in whole),
        )
        for shipment in whole:
            shipment.shipping_refund_id = record.id
        if back:
            stock.restock(
                warehouse_goods(order, set(back), back),
                Ref("order", order.number, actor, note=reason),
            )
        payment = db.session.scalar(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.id)
            .limit(1)
        )
        unique_key = key if exact_key else f"{key}-{record.id}"
        if payment is not None:
            owe_through_gateway(record, payment, unique_key)
        elif exact_key:
            record.idempotency_key = unique_key[:100]
            db.session.flush()
    return record


def _parts_refunded_whole(order: Order, quantities: Mapping[int, int]) -> list[Shipment]:
    """The parts with a shipping fee not given back yet whose every line is refunded in
    full once ``quantities`` are (the order locked and read afresh)."""
    whole = []
    for shipment in order.shipments:
        if not shipment.shipping_fen or shipment.shipping_refund_id is not None:
            continue
        lines = [line for line in order.lines if line.vendor_id == shipment.vendor_id]
        if lines and all(
            line.refunded_quantity + quantities.get(line.id, 0) >= line.quantity for line in lines
        ):
            whole.append(shipment)
    return whole


def owe_through_gateway(record: Refund, payment: Payment, key: str) -> Refund:
    """Mark a recorded refund as owed through ``payment``'s gateway: pending, with
    ``key`` as its idempotency key (stable: it is committed before any call)."""
    record.payment_id = payment.id
    record.status = RefundStatus.PENDING
    record.idempotency_key = key[:100]
    db.session.flush()
    return record


def settle_refund(refund_id: int, now: datetime | None = None) -> bool:
    """Give a recorded refund's money back through its gateway, outside any transaction
    or lock, at most once; True when this call settled it. The call is claimed first
    with a guarded update (a claim older than ``REFUND_CLAIM``, left by a request that
    died, may be taken over); the gateway is then asked for the refund made under the
    refund's idempotency key, and only makes a new one when there is none (see
    ``StripeGateway.refund``). A gateway error leaves it pending for the retry job."""
    now = now or utcnow()
    with unit_of_work():
        claimed = db.session.execute(
            update(Refund)
            .where(
                Refund.id == refund_id,
                Refund.status == RefundStatus.PENDING,
                or_(Refund.attempted_at.is_(None), Refund.attempted_at <= now - REFUND_CLAIM),
            )
            .values(attempted_at=now)
            .execution_options(synchronize_session=False)
        )
        owed = db.session.execute(
            select(Refund.amount, Refund.idempotency_key, Payment.provider, Payment.reference)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.id == refund_id)
        ).one_or_none()
    if claimed.rowcount != 1 or owed is None:
        return False
    try:
        gateway_ref = gateway_named(owed.provider).refund(
            owed.reference, owed.amount, owed.idempotency_key
        )
    except GatewayError:
        log.exception("refund %s: the gateway did not refund; left pending", refund_id)
        with unit_of_work():
            db.session.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
                .values(attempted_at=None)
                .execution_options(synchronize_session=False)
            )
        return False
    with unit_of_work():
        db.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
            .values(status=RefundStatus.SUCCEEDED, gateway_ref=gateway_ref, settled_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def settle_quietly(refund_id: int) -> None:
    """Right after a use case committed a refund: give the money back now if the
    gateway answers. The refund is recorded already, so any failure here (gateway,
    database) is logged and left to the retry job, never shown to the user as theirs."""
    try:
        settle_refund(refund_id)
    except Exception:
        db.session.rollback()
        log.exception("refund %s: settling failed; left for the retry job", refund_id)


def settle_and_tell(order: Order, refund_id: int | None) -> None:
    """Once a use case that recorded a refund has committed: give the money back now if
    the gateway answers (``settle_quietly``), and tell the buyer."""
    if refund_id is not None:
        settle_quietly(refund_id)
        notify("refunded", order)


def settle_refunds(now: datetime | None = None, limit: int = 1000) -> tuple[int, int]:
    """`flask orders expire`: retry the gateway refunds not confirmed yet; (settled,
    still pending)."""
    with unit_of_work():  # ends the read: no transaction is open during a gateway call
        pending = list(
            db.session.scalars(
                select(Refund.id)
                .where(Refund.status == RefundStatus.PENDING)
                .order_by(Refund.id)
                .limit(limit)
            )
        )
    settled = sum(settle_refund(refund_id, now) for refund_id in pending)
    return settled, len(pending) - settled
