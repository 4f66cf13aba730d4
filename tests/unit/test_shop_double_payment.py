"""Money the shop must never keep: a second, different payment that also succeeds on an
order already paid is refunded in full through the refund-intent path, once."""

from sqlalchemy import select

from marketplace.extensions import db
from orders.ledger.models import Refund, RefundStatus
from orders.shop.checkout import place_order
from orders.shop.models import Payment, PaymentStatus
from orders.shop.payment import complete_payment, start_payment

from ..factories import UserFactory
from .test_shop_core import address, attributed, stocked_product


def test_a_second_successful_payment_is_refunded_not_kept():
    product = stocked_product(3, price=1000)
    order = place_order(UserFactory(), {product.id: 1}, address(), token="dp-1")
    first = start_payment(order)
    # a second attempt (another tab, another method) the buyer also completes
    second = Payment(
        order_id=order.id, provider="test", reference="second-attempt", amount=order.total
    )
    db.session.add(second)
    db.session.commit()
    assert complete_payment("test", first.reference).status == "paid"

    outcome = complete_payment("test", second.reference)
    assert outcome.status == "refunded"
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == second.id))
    assert refund is not None and refund.amount == order.total
    assert refund.idempotency_key and refund.status == RefundStatus.SUCCEEDED  # settled
    # the sale stands once: attribution and the order's refunded amount untouched
    assert order.is_paid and attributed(order) == order.total and not order.refunded
    assert second.status == PaymentStatus.SUCCEEDED

    # the same confirmation delivered again: no second refund
    assert complete_payment("test", second.reference).status == "already_paid"
    assert complete_payment("test", first.reference).status == "already_paid"
    assert len(db.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()) == 1


def test_a_second_payment_after_the_buyer_cancelled_a_paid_order_is_refunded():
    from orders.shop.fulfilment import cancel_by_buyer
    from vendors import stock

    product = stocked_product(3, price=1000)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="dp-2")
    first = start_payment(order)
    second = Payment(order_id=order.id, provider="test", reference="second-2", amount=order.total)
    db.session.add(second)
    db.session.commit()
    complete_payment("test", first.reference)
    cancel_by_buyer(buyer, order.id, "不要了")
    assert stock.available(product.id) == 3

    # the cancelled sale is not sold again by the late second payment: it is refunded
    assert complete_payment("test", second.reference).status == "refunded"
    assert stock.available(product.id) == 3 and attributed(order) == 0
    refunds = db.session.scalars(select(Refund).where(Refund.payment_id == second.id)).all()
    assert [r.amount for r in refunds] == [order.total]
