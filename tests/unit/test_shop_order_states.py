"""The buyer's order pages tell the truth (issue 13, item 2): a fully refunded order
offers no cancellation and says its help was reversed; the timeline names who
cancelled; the order list has status tabs with counts, thumbnails, a payment
countdown and 再次购买."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.models import ProductStatus
from marketplace.extensions import db
from marketplace.models import utcnow
from orders.shop.checkout import place_order
from orders.shop.fulfilment import cancel_by_buyer, cancel_part, confirm_receipt, ship_part
from orders.shop.queries import buyer_tab_counts

from ..factories import UserFactory
from .test_fulfilment import paid_order, two_vendor_market
from .test_shop_core import address


@pytest.fixture
def market():
    return two_vendor_market()


def test_a_fully_refunded_order_offers_no_cancel_and_says_refunded(client, auth, market):
    order, buyer = market["order"], market["buyer"]
    cancel_by_buyer(buyer, order.id, "买错了")
    auth.login(buyer.email)

    page = client.get(f"/orders/{order.id}").get_data(as_text=True)

    assert 'data-testid="cancel-form"' not in page and "取消订单</summary>" not in page
    assert "已退款" in page
    assert 'data-testid="impact-refunded"' in page and "正在登记" not in page
    # the buyer cancelled both parts at once: one step, named as the buyer's
    assert page.count("买家取消订单") == 1 and "商家" + "部分取消" not in page
    assert "商家取消发货" not in page


def test_the_timeline_names_a_vendor_cancelling_its_part(client, auth, market):
    order, buyer = market["order"], market["buyer"]
    cancel_part(market["staff_b"], market["b"], order.id, "台风导致缺货")
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert page.count("商家取消发货") == 1 and "买家取消订单" not in page
    # A's part is still to ship: the buyer may still cancel it
    assert 'data-testid="cancel-form"' in page


def test_tabs_count_and_filter_the_buyers_orders(client, auth, market):
    buyer, apples, honey = market["buyer"], market["apples"], market["honey"]
    unpaid = place_order(buyer, {apples.id: 1}, address(), "t-tab-unpaid")
    done = paid_order(buyer, {honey: 1}, "t-tab-done")
    ship_part(market["staff_b"], market["b"], done.id, "EMS", "E9")
    confirm_receipt(buyer, done.id)
    refunded = paid_order(buyer, {apples: 1}, "t-tab-refunded")
    cancel_by_buyer(buyer, refunded.id, "不要了")
    # market's order: A shipped, B still to ship -> under 待发货 and 待收货
    ship_part(market["staff_a"], market["a"], market["order"].id, "顺丰速运", "SF1")

    counts = buyer_tab_counts(buyer)
    assert counts == {
        "unpaid": 1,
        "to_ship": 1,
        "to_receive": 1,
        "completed": 1,
        "after_sales": 1,
    }
    auth.login(buyer.email)
    page = client.get("/orders").get_data(as_text=True)
    assert 'data-testid="count-unpaid">1<' in page
    unpaid_tab = client.get("/orders?tab=unpaid").get_data(as_text=True)
    assert unpaid.number in unpaid_tab and done.number not in unpaid_tab
    assert 'data-testid="countdown"' in unpaid_tab and "剩余" in unpaid_tab
    completed = client.get("/orders?tab=completed").get_data(as_text=True)
    assert done.number in completed and unpaid.number not in completed
    after = client.get("/orders?tab=after_sales").get_data(as_text=True)
    assert refunded.number in after and done.number not in after
    receive = client.get("/orders?tab=to_receive").get_data(as_text=True)
    assert market["order"].number in receive and done.number not in receive
    # an unknown tab is the whole list, not an error
    assert client.get("/orders?tab=nonsense").status_code == 200
    # a lapsed reservation is not counted as waiting for payment
    assert buyer_tab_counts(buyer, utcnow() + timedelta(hours=2))["unpaid"] == 0


def test_the_list_shows_thumbnails_or_initials(client, auth, market):
    auth.login(market["buyer"].email)
    page = client.get("/orders").get_data(as_text=True)
    assert 'data-testid="order-thumbs"' in page
    assert f'title="{market["apples"].name}"' in page


def test_buy_again_puts_the_products_back_in_the_cart(client, auth, market):
    from orders.shop.cart import stored_cart

    order, buyer, honey = market["order"], market["buyer"], market["honey"]
    honey.status = ProductStatus.ARCHIVED  # withdrawn since: left out, and named
    db.session.commit()
    auth.login(buyer.email)
    response = client.post(f"/orders/{order.id}/again", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "已加入购物车" in page
    assert stored_cart(buyer) == {market["apples"].id: 2}
    assert "暂时无法购买" in page and honey.name in page
    # another buyer's order cannot be copied
    auth.logout()
    auth.login(UserFactory().email)
    assert client.post(f"/orders/{order.id}/again").status_code == 404
