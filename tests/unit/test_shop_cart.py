"""The cart: visitors (session) and logged-in buyers (stored), merged at log-in; prices
always from the server; unsellable or unavailable products refused with a clear message."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from catalog.models import CertStatus
from marketplace.accounts.services import find_user
from marketplace.extensions import db
from orders.ledger.models import Order
from orders.shop.cart import set_cart_quantity, stored_cart
from orders.shop.models import CartItem

from ..catalog_factories import CertificationFactory
from ..factories import UserFactory
from .test_shop_core import stocked_product


def add(client, product, quantity=1, **extra):
    return client.post("/cart/add", data={"product_id": product.id, "quantity": quantity, **extra})


def cart_page(client) -> str:
    return client.get("/cart").get_data(as_text=True)


def session_cart(client) -> dict:
    with client.session_transaction() as session:
        return dict(session.get("cart") or {})


def test_visitor_cart_lives_in_the_session_with_server_prices(client):
    product = stocked_product(10, price=1990)
    response = add(client, product, 2, price="0.01", unit_price=1, amount=2)
    assert response.status_code == 302
    assert session_cart(client) == {str(product.id): 2}
    page = cart_page(client)
    assert product.name in page
    assert "¥39.80" in page and "0.01" not in page
    assert 'data-testid="cart-count">2<' in page
    assert db.session.scalar(select(func.count(CartItem.id))) == 0


def test_adding_twice_adds_up_and_update_and_remove_change_the_line(client):
    product = stocked_product(10)
    add(client, product, 2)
    add(client, product, 3)
    assert session_cart(client) == {str(product.id): 5}
    client.post("/cart/update", data={"product_id": product.id, "quantity": 1})
    assert session_cart(client) == {str(product.id): 1}
    client.post("/cart/remove", data={"product_id": product.id})
    assert session_cart(client) == {}
    assert 'data-testid="cart-empty"' in cart_page(client)


def test_unsellable_product_is_refused_with_the_reason(client):
    pending = CertificationFactory(status=CertStatus.PENDING).product
    response = add(client, pending)
    assert response.status_code == 302
    page = cart_page(client)
    assert "不能销售" in page and "尚未通过扶贫产品认定" in page
    assert session_cart(client) == {}


def test_more_than_the_stock_is_refused(client):
    product = stocked_product(3)
    add(client, product, 4)
    page = cart_page(client)
    assert "库存不足" in page and "仅剩 3" in page
    assert session_cart(client) == {}


def test_unknown_product_is_404(client):
    assert client.post("/cart/add", data={"product_id": 99999, "quantity": 1}).status_code == 404


def test_a_line_that_became_unsellable_is_marked_and_blocks_checkout(client, auth):
    product = stocked_product(5)
    user = UserFactory()
    auth.login(user.email)
    add(client, product, 1)
    product.certifications[0].status = CertStatus.SUSPENDED
    db.session.commit()
    page = cart_page(client)
    assert 'data-testid="cart-problem"' in page and "暂停" in page
    assert 'data-testid="checkout-button"' not in page
    response = client.get("/checkout")
    assert response.status_code == 302 and response.location.endswith("/cart")


def test_logged_in_cart_is_stored_and_visitor_cart_merges_at_login(client, auth):
    first, second = stocked_product(10), stocked_product(10)
    user = UserFactory()
    set_cart_quantity(user, first.id, 1)
    add(client, first, 2)  # as a visitor
    add(client, second, 1)
    auth.login(user.email)
    assert stored_cart(user) == {first.id: 3, second.id: 1}
    assert session_cart(client) == {}
    add(client, second, 1)
    assert stored_cart(user) == {first.id: 3, second.id: 2}
    assert 'data-testid="cart-count">5<' in cart_page(client)


def test_registering_keeps_the_visitor_cart(client, outbox):
    product = stocked_product(10)
    add(client, product, 2)
    client.post(
        "/register",
        data={
            "email": "new@example.cn",
            "name": "新市民",
            "password": "correct horse 9",
            "confirm": "correct horse 9",
            "agree": "y",
        },
    )
    [link] = re.findall(r"http://localhost(/register/confirm/\S+)", outbox[0].body)
    client.post(link)
    assert stored_cart(find_user("new@example.cn")) == {product.id: 2}


def test_cart_groups_lines_by_vendor(client):
    first, second = stocked_product(10, price=1000), stocked_product(10, price=2000)
    add(client, first, 1)
    add(client, second, 2)
    page = cart_page(client)
    assert page.count('data-testid="vendor-group"') == 2
    assert first.vendor.name in page and second.vendor.name in page
    assert 'data-testid="cart-total">¥50.00<' in page


def test_a_posted_price_or_another_products_price_changes_nothing(client, auth):
    dear, cheap = stocked_product(10, price=9900), stocked_product(10, price=100)
    user = UserFactory()
    auth.login(user.email)
    add(client, dear, 1, price="1.00", unit_price=cheap.price, amount=cheap.price)
    client.post(
        "/cart/update",
        data={"product_id": dear.id, "quantity": 2, "unit_price": 100, "price": "1.00"},
    )
    token = "price-tamper-token-0001"
    client.post(
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
            "total": 200,
            "unit_price": cheap.price,
            f"price_{dear.id}": 1,
        },
    )
    order = db.session.scalar(select(Order).where(Order.checkout_token == token))
    assert order.total == 2 * 9900
    assert [(line.product_id, line.unit_price) for line in order.lines] == [(dear.id, 9900)]


def test_a_visitor_cart_is_kept_small(client, monkeypatch):
    from orders.shop import views as shop_views

    monkeypatch.setattr(shop_views, "VISITOR_CART_LINES", 1)
    first, second = stocked_product(5), stocked_product(5)
    add(client, first)
    add(client, second)
    assert "购物车最多放 1 种商品" in cart_page(client)
    assert session_cart(client) == {str(first.id): 1}
