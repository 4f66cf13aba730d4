"""A GET changes nothing: the language switch and the start of a payment are POSTs (with
the CSRF token), so a prefetched link, a crawler or an <img> on another site can neither
switch someone's language nor open payment attempts."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.i18n import LOCALE_COOKIE
from orders.ledger.models import Order, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.fulfilment import cancel_by_buyer
from orders.shop.models import Payment, PaymentStatus
from vendors import stock

from ..factories import UserFactory
from .test_shop_checkout import NEW_ADDRESS
from .test_shop_core import address, stocked_product


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table: what "nothing changed" means."""
    db.session.expire_all()
    return {
        table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
        for table in db.metadata.sorted_tables
    }


def placed_order(buyer) -> Order:
    return place_order(buyer, {stocked_product(5).id: 1}, address(), token=f"t-{buyer.id}")


def test_get_of_the_language_switch_changes_nothing(client, auth):
    user = UserFactory()
    auth.login(user.email)
    before = snapshot()
    for url in ("/lang/en", "/lang/en?next=/", "/lang/zh_CN"):
        assert client.get(url).status_code == 405
    assert snapshot() == before
    assert client.get_cookie(LOCALE_COOKIE) is None


def test_get_of_the_pay_page_starts_no_payment(client, auth):
    buyer = UserFactory()
    order = placed_order(buyer)
    auth.login(buyer.email)
    before = snapshot()
    for _ in range(3):
        response = client.get(f"/orders/{order.id}/pay")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        # the page shows the order and a button that POSTs to start paying
        assert 'data-testid="start-payment"' in page and order.number in page
        assert f'action="/orders/{order.id}/pay"' in page
        assert 'data-testid="test-gateway-banner"' not in page
    assert snapshot() == before
    assert db.session.scalars(select(Payment)).all() == []

    # the button starts one attempt; coming back to the page (a GET) continues it
    response = client.post(f"/orders/{order.id}/pay")
    assert response.status_code == 302 and response.location.endswith(f"/orders/{order.id}/pay")
    after_start = snapshot()
    for _ in range(2):
        page = client.get(f"/orders/{order.id}/pay").get_data(as_text=True)
        assert 'data-testid="test-gateway-banner"' in page
    assert snapshot() == after_start
    assert [p.status for p in db.session.scalars(select(Payment))] == [PaymentStatus.CREATED]


def test_pressing_the_start_button_twice_makes_one_attempt(client, auth):
    buyer = UserFactory()
    order = placed_order(buyer)
    auth.login(buyer.email)
    client.post(f"/orders/{order.id}/pay")
    client.post(f"/orders/{order.id}/pay")
    assert len(db.session.scalars(select(Payment)).all()) == 1


def test_checkout_starts_the_payment_so_the_buyer_lands_on_the_gateway(client, auth):
    product = stocked_product(5)
    buyer = UserFactory()
    auth.login(buyer.email)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    data = {**NEW_ADDRESS, "token": "a-checkout-token-0001"}
    response = client.post("/checkout", data=data, follow_redirects=True)
    assert 'data-testid="test-gateway-banner"' in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Payment)).all()) == 1


def test_a_paid_or_cancelled_order_has_no_payment_page(client, auth):
    buyer = UserFactory()
    order = placed_order(buyer)
    cancel_by_buyer(buyer, order.id, "")
    auth.login(buyer.email)
    before = snapshot()
    response = client.get(f"/orders/{order.id}/pay")
    assert response.status_code == 302
    assert "不能付款" in client.get(response.location).get_data(as_text=True)
    assert snapshot() == before
    response = client.post(f"/orders/{order.id}/pay")
    assert response.status_code == 302
    assert "不能付款" in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and order.payments == []
    assert stock.available(order.lines[0].product_id) == 5
