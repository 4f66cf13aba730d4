"""The local test gateway's page (测试支付) and the buyer's order pages: the signed token
decides which order, amount and attempt is paid; another buyer's order is 404."""

from __future__ import annotations

import logging
import re

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from marketplace.errors import IllegalTransition
from marketplace.extensions import db
from orders.ledger.models import Attribution, OrderStatus
from orders.shop import payment
from orders.shop.checkout import place_order
from orders.shop.models import Payment, PaymentStatus
from vendors import stock
from vendors.stock import OutOfStock

from ..factories import UserFactory
from ..stock_helpers import warehouse_level
from .test_shop_core import address, stocked_product


def place(buyer, product, quantity=1, token=None):
    return place_order(
        buyer, {product.id: quantity}, address(), token=token or f"tok-{buyer.id}-{product.id}"
    )


def pay_page(client, order) -> str:
    """The 去支付 button (a POST starts or continues the attempt), then the page it shows."""
    response = client.post(f"/orders/{order.id}/pay", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == f"/orders/{order.id}/pay"
    return response.get_data(as_text=True)


def token_of(page: str) -> str:
    return re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)


def press(client, order, token, outcome="success"):
    return client.post(f"/orders/{order.id}/pay/test", data={"token": token, "outcome": outcome})


def attribution_rows(order) -> int:
    return db.session.scalar(
        select(func.count(Attribution.id)).where(Attribution.order_id == order.id)
    )


def test_test_gateway_page_is_clearly_marked_and_pays_through_the_shop(client, auth, caplog):
    product = stocked_product(5, price=1234)
    buyer = UserFactory()
    order = place(buyer, product, 2)
    auth.login(buyer.email)
    page = pay_page(client, order)
    assert 'data-testid="test-gateway-banner"' in page and "测试支付" in page
    assert "不会产生任何真实扣款" in page and "¥24.68" in page
    assert "js.stripe.com" not in page
    with caplog.at_level(logging.INFO, logger="orders.shop.notify"):
        response = press(client, order, token_of(page))
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.PAID and order.payment_method == "card"
    assert attribution_rows(order) == 2  # two benefit links
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (3, 0)
    assert "付款成功" in client.get(response.location).get_data(as_text=True)
    assert any(
        order.number in r.getMessage() and "付款成功" in r.getMessage() for r in caplog.records
    )


def test_a_token_for_another_order_or_amount_pays_nothing(client, auth, app):
    product = stocked_product(10, price=5000)
    cheap = stocked_product(10, price=100)
    buyer = UserFactory()
    dear_order = place(buyer, product, 1, token="dear")
    cheap_order = place(buyer, cheap, 1, token="cheap")
    auth.login(buyer.email)
    dear_token = token_of(pay_page(client, dear_order))
    cheap_token = token_of(pay_page(client, cheap_order))

    # the cheap order's token posted against the dear order
    press(client, dear_order, cheap_token)
    # the dear order's own attempt, re-signed by someone without the key
    forged = URLSafeSerializer("not-the-key", salt="test-gateway").dumps(
        {"order": dear_order.number, "amount": 100, "reference": dear_order.payments[0].reference}
    )
    press(client, dear_order, forged)
    # a token with the right key but a lower amount (as if the page had been altered)
    lower = URLSafeSerializer(app.config["SECRET_KEY"], salt="test-gateway").dumps(
        {"order": dear_order.number, "amount": 100, "reference": dear_order.payments[0].reference}
    )
    response = press(client, dear_order, lower)
    assert "支付凭证无效" in client.get(response.location).get_data(as_text=True)
    # a tampered character
    press(
        client,
        dear_order,
        dear_token[:-2] + ("A" if dear_token[-2] != "A" else "B") + dear_token[-1],
    )

    db.session.expire_all()
    assert dear_order.status == OrderStatus.PENDING_PAYMENT
    assert cheap_order.status == OrderStatus.PENDING_PAYMENT
    assert attribution_rows(dear_order) == attribution_rows(cheap_order) == 0
    assert press(client, dear_order, dear_token).status_code == 302
    db.session.expire_all()
    assert (
        dear_order.status == OrderStatus.PAID and cheap_order.status == OrderStatus.PENDING_PAYMENT
    )


def test_another_buyers_token_cannot_pay_through_my_url(client, auth):
    product = stocked_product(10)
    mine, theirs = UserFactory(), UserFactory()
    my_order = place(mine, product)
    their_order = place(theirs, product)
    auth.login(theirs.email)
    their_token = token_of(pay_page(client, their_order))
    auth.logout()
    auth.login(mine.email)
    press(client, my_order, their_token)
    db.session.expire_all()
    assert my_order.status == their_order.status == OrderStatus.PENDING_PAYMENT


def test_the_fail_button_leaves_the_order_payable_and_a_retry_is_a_new_attempt(client, auth):
    product = stocked_product(5)
    buyer = UserFactory()
    order = place(buyer, product)
    auth.login(buyer.email)
    first_token = token_of(pay_page(client, order))
    response = press(client, order, first_token, outcome="fail")
    assert "支付未成功" in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert [p.status for p in order.payments] == [PaymentStatus.FAILED]
    assert stock.available(product.id) == 4  # still reserved for the buyer

    page = pay_page(client, order)
    assert 'data-testid="last-failure"' in page
    db.session.expire_all()
    assert len(order.payments) == 2 and order.payments[1].status == PaymentStatus.CREATED
    press(client, order, token_of(page))
    db.session.expire_all()
    assert order.status == OrderStatus.PAID
    assert [p.status for p in order.payments] == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]


def test_pressing_success_twice_pays_once(client, auth):
    product = stocked_product(5)
    buyer = UserFactory()
    order = place(buyer, product)
    auth.login(buyer.email)
    token = token_of(pay_page(client, order))
    press(client, order, token)
    press(client, order, token)
    db.session.expire_all()
    assert order.status == OrderStatus.PAID and attribution_rows(order) == 2
    assert stock.available(product.id) == 4
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_another_buyers_order_is_404_everywhere(client, auth):
    product = stocked_product(5)
    owner, other = UserFactory(), UserFactory()
    order = place(owner, product)
    auth.login(other.email)
    for path in ("", "/pay", "/return"):
        assert client.get(f"/orders/{order.id}{path}").status_code == 404
    assert client.post(f"/orders/{order.id}/cancel").status_code == 404
    assert client.post(f"/orders/{order.id}/receive").status_code == 404
    assert client.post(f"/orders/{order.id}/pay/test", data={"token": "x"}).status_code == 404
    assert order.number not in client.get("/orders").get_data(as_text=True)
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_order_pages_need_login(client):
    assert client.get("/orders").status_code == 302
    assert client.get("/orders/1").status_code == 302


@pytest.mark.parametrize(
    "error",
    [
        OutOfStock("妃子笑荔枝", 0, 1),
        IllegalTransition("订单当前状态不能确认收款"),
    ],
    ids=["out_of_stock", "illegal_transition"],
)
def test_a_domain_error_while_paying_is_a_message_on_the_order_page(
    client, auth, monkeypatch, error
):
    """Whatever the shop refuses while confirming a test payment (stock gone, the order
    moved on) is said on the order page, never a 500."""
    product = stocked_product(5)
    buyer = UserFactory()
    order = place(buyer, product)
    auth.login(buyer.email)
    token = token_of(pay_page(client, order))

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(payment, "complete_payment", refuse)
    response = press(client, order, token)
    assert response.status_code == 302
    assert response.location.endswith(f"/orders/{order.id}")
    assert error.message in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert order.status == OrderStatus.PENDING_PAYMENT
