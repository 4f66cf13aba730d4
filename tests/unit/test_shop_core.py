"""The online shop's core services with the local test gateway: checkout reserves,
payment commits stock and writes attribution, refunds reverse both."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import utcnow
from orders.ledger.models import Attribution, Order, OrderStatus
from orders.shop.checkout import Delivery, place_order
from orders.shop.expiry import expire_orders
from orders.shop.fulfilment import cancel_by_buyer
from orders.shop.models import ShipmentStatus
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.stock import OutOfStock, Ref

from ..catalog_factories import BenefitLinkFactory, CertificationFactory
from ..factories import UserFactory
from ..stock_helpers import warehouse_level


def stocked_product(units: int, price: int = 2500):
    product = CertificationFactory().product
    product.price = price
    db.session.commit()
    BenefitLinkFactory(product=product)
    BenefitLinkFactory(product=product)
    stock.receive([stock.Goods(product.id, units)], Ref("test"))
    return product


def address() -> Delivery:
    return Delivery("address", "李市民", "13800000000", "海南省海口市龙华区滨海大道1号")


def attributed(order: Order) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Attribution.amount), 0)).where(
            Attribution.order_id == order.id
        )
    )


def test_checkout_payment_refund_round_trip():
    product = stocked_product(5, price=1999)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 3}, address(), token="t-1")
    assert order.status == OrderStatus.PENDING_PAYMENT and order.total == 5997
    assert stock.available(product.id) == 2
    # a double click: same token, same order, nothing reserved twice
    assert place_order(buyer, {product.id: 3}, address(), token="t-1").id == order.id
    assert stock.available(product.id) == 2

    payment = start_payment(order)
    assert payment.provider == "test" and payment.amount == 5997
    outcome = complete_payment("test", payment.reference)
    assert outcome.status == "paid"
    assert order.status == OrderStatus.PAID and attributed(order) == 5997
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (2, 0)
    # delivered twice: nothing more happens
    assert complete_payment("test", payment.reference).status == "already_paid"
    assert attributed(order) == 5997

    cancel_by_buyer(buyer, order.id, "不想要了")
    assert attributed(order) == 0
    assert order.refunded == order.total
    assert stock.available(product.id) == 5
    assert all(s.status == ShipmentStatus.CANCELLED for s in order.shipments)


def test_out_of_stock_checkout_reserves_nothing():
    first, second = stocked_product(2), stocked_product(1)
    buyer = UserFactory()
    with pytest.raises(OutOfStock):
        place_order(buyer, {first.id: 2, second.id: 2}, address(), token="t-2")
    assert stock.available(first.id) == 2 and stock.available(second.id) == 1
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_expired_reservation_is_released_and_late_payment_re_reserves():
    product = stocked_product(1)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="t-3")
    payment = start_payment(order)
    expired, _completed = expire_orders(utcnow() + timedelta(minutes=31))
    assert expired == 1 and order.status == OrderStatus.CANCELLED
    assert stock.available(product.id) == 1
    assert complete_payment("test", payment.reference).status == "paid"
    assert stock.available(product.id) == 0 and order.is_paid


def test_late_payment_without_stock_is_refunded():
    product = stocked_product(1)
    late, early = UserFactory(), UserFactory()
    order = place_order(late, {product.id: 1}, address(), token="t-4")
    payment = start_payment(order)
    expire_orders(utcnow() + timedelta(minutes=31))
    other = place_order(early, {product.id: 1}, address(), token="t-5")
    complete_payment("test", start_payment(other).reference)
    outcome = complete_payment("test", payment.reference)
    assert outcome.status == "refunded" and "库存不足" in outcome.message
    assert order.status == OrderStatus.CANCELLED and attributed(order) == 0


def test_late_payment_partly_restockable_reserves_nothing_and_refunds():
    plenty, scarce = stocked_product(5), stocked_product(1)
    late, early = UserFactory(), UserFactory()
    order = place_order(late, {plenty.id: 2, scarce.id: 1}, address(), token="t-6")
    payment = start_payment(order)
    expire_orders(utcnow() + timedelta(minutes=31))
    other = place_order(early, {scarce.id: 1}, address(), token="t-7")
    complete_payment("test", start_payment(other).reference)
    assert complete_payment("test", payment.reference).status == "refunded"
    # the first line's re-reservation was rolled back with the second's failure
    assert stock.available(plenty.id) == 5
    level = warehouse_level(plenty.id)
    assert level.reserved == 0


def test_test_gateway_is_refused_once_stripe_is_configured(app, client, auth):
    from orders.shop.gateways import TestGateway

    product = stocked_product(2)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="t-8")
    payment = start_payment(order)
    token = TestGateway(app.config).token(order, payment.reference)
    app.config["STRIPE_SECRET_KEY"] = "sk_test_configured"
    try:
        auth.login(buyer.email)
        client.post(f"/orders/{order.id}/pay/test", data={"token": token, "outcome": "success"})
    finally:
        app.config["STRIPE_SECRET_KEY"] = None
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT and attributed(order) == 0


def test_production_without_stripe_offers_no_payment(app):
    from orders.shop.gateways import GatewayError

    product = stocked_product(2)
    order = place_order(UserFactory(), {product.id: 1}, address(), token="t-9")
    app.config["APP_ENV"] = "production"
    try:
        with pytest.raises(GatewayError):
            start_payment(order)
        app.config["ALLOW_TEST_GATEWAY"] = True  # an explicit trial run
        assert start_payment(order).provider == "test"
    finally:
        app.config["APP_ENV"] = "development"
        app.config["ALLOW_TEST_GATEWAY"] = False
