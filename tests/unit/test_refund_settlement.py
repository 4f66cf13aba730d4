"""Gateway refunds (issue 9, item 3): the refund is recorded and committed (pending,
with its own idempotency key) before the gateway is asked, the gateway is asked with no
transaction open and no row locked, and a refund the gateway did not confirm is retried
by `flask orders expire` with the same key, once. With the local test gateway here; the
same with Stripe (localstripe) in tests/integration/test_stripe.py."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.models import utcnow
from orders.ledger.models import Refund, RefundStatus
from orders.shop import gateways
from orders.shop.fulfilment import cancel_by_buyer
from orders.shop.gateways import GatewayError
from orders.shop.refunds import REFUND_CLAIM, settle_refund

from ..conftest import on_postgres
from ..factories import UserFactory
from .test_fulfilment import bureau_staff, paid_order
from .test_shop_core import attributed, stocked_product


def refunds() -> list[Refund]:
    db.session.expire_all()
    return list(db.session.scalars(select(Refund).order_by(Refund.id)))


def test_the_refund_is_committed_before_the_gateway_is_asked_with_nothing_locked(monkeypatch):
    product = stocked_product(3, price=1200)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 2}, "r-1")
    seen = []
    real = gateways.TestGateway.refund

    def refund(gateway, reference, amount, key):
        assert not db.session().in_transaction()  # nothing open in the request's session
        with db.engine.connect() as other:  # another connection sees the intent ...
            row = other.execute(
                text("SELECT status, amount, idempotency_key FROM refunds WHERE order_id = :o"),
                {"o": order.id},
            ).one()
            if on_postgres():
                other.execute(text("SET LOCAL lock_timeout = '2s'"))
            # ... and can write the order row: no lock is held while the gateway works
            other.execute(text("UPDATE orders SET note = note WHERE id = :o"), {"o": order.id})
            other.rollback()
        seen.append((tuple(row), amount, key))
        return real(gateway, reference, amount, key)

    monkeypatch.setattr(gateways.TestGateway, "refund", refund)
    cancel_by_buyer(buyer, order.id, "不要了")

    [record] = refunds()
    assert seen == [(("pending", 2400, record.idempotency_key), 2400, record.idempotency_key)]
    assert record.idempotency_key == f"cancel-{order.number}-{record.id}"
    assert record.status == RefundStatus.SUCCEEDED and record.settled_at is not None
    assert record.gateway_ref.startswith("test_refund_")


def test_a_refund_the_gateway_failed_is_retried_once_with_the_same_key(
    client, auth, runner, monkeypatch
):
    product = stocked_product(3, price=1200)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 1}, "r-2")
    calls = []
    real = gateways.TestGateway.refund

    def flaky(gateway, reference, amount, key):
        calls.append(key)
        if len(calls) == 1:
            raise GatewayError("connection reset")
        return real(gateway, reference, amount, key)

    monkeypatch.setattr(gateways.TestGateway, "refund", flaky)
    cancel_by_buyer(buyer, order.id, "不要了")  # the buyer is not shown an error

    [record] = refunds()
    assert record.status == RefundStatus.PENDING and record.attempted_at is None
    assert order.refunded == order.total and attributed(order) == 0  # the ledger has it
    auth.login(bureau_staff().email)
    assert "支付渠道退款处理中" in client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)
    result = runner.invoke(args=["orders", "expire"])
    assert result.exit_code == 0, result.output
    assert "refunded 1 pending refund(s), 0 still pending" in result.output
    [record] = refunds()
    assert record.status == RefundStatus.SUCCEEDED and record.gateway_ref
    assert calls == [record.idempotency_key] * 2
    assert "refunded 0 pending" in runner.invoke(args=["orders", "expire"]).output
    assert len(calls) == 2
    assert "支付渠道退款处理中" not in client.get(f"/bureau/orders/{order.id}").get_data(
        as_text=True
    )


def test_a_refund_claimed_by_a_request_in_flight_is_left_to_it(monkeypatch):
    product = stocked_product(3)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 1}, "r-3")

    def down(*args):
        raise GatewayError("down")

    monkeypatch.setattr(gateways.TestGateway, "refund", down)
    cancel_by_buyer(buyer, order.id, "不要了")
    [record] = refunds()
    now = utcnow()
    record.attempted_at = now  # another request claimed it a moment ago
    db.session.commit()
    monkeypatch.undo()

    assert settle_refund(record.id, now + timedelta(seconds=30)) is False
    assert refunds()[0].status == RefundStatus.PENDING
    # a claim older than REFUND_CLAIM was left by a request that died: taken over
    assert settle_refund(record.id, now + REFUND_CLAIM) is True
    assert refunds()[0].status == RefundStatus.SUCCEEDED
    assert settle_refund(record.id, now + timedelta(hours=1)) is False
