"""Checkout: login required, saved / new address or pick-up point, one order per
rendered form (a double-clicked 提交订单), clear messages when stock ran out."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from marketplace.accounts.services import save_address
from marketplace.extensions import db
from marketplace.models import Address
from orders.ledger.models import Order, OrderStatus
from orders.shop.cart import set_cart_quantity, stored_cart
from orders.shop.models import PickupKind, PickupPoint
from vendors import stock
from vendors.stock import Ref

from ..factories import UserFactory
from .test_shop_core import stocked_product

NEW_ADDRESS = {
    "delivery_method": "address",
    "address_id": 0,
    "recipient": "李市民",
    "phone": "13812345678",
    "province": "海南省",
    "city": "海口市",
    "district": "龙华区",
    "detail": "滨海大道1号",
}


def token_of(page: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', page) or re.search(
        r'id="token" name="token" type="hidden" value="([^"]+)"', page
    )
    assert match, "the checkout form has a hidden one-time token"
    return match.group(1)


def checkout_page(client) -> str:
    response = client.get("/checkout")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def orders_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def buyer_with_cart(auth, *products, quantity=1):
    user = UserFactory()
    for product in products:
        set_cart_quantity(user, product.id, quantity)
    auth.login(user.email)
    return user


def test_visitors_are_sent_to_log_in_and_back(client):
    response = client.get("/checkout")
    assert response.status_code == 302
    assert "/login" in response.location and "next=%2Fcheckout" in response.location


def test_checkout_with_a_new_address_places_one_order_and_saves_the_address(client, auth):
    product = stocked_product(5, price=1500)
    user = buyer_with_cart(auth, product, quantity=2)
    page = checkout_page(client)
    assert "提交订单" in page and "¥30.00" in page
    token = token_of(page)
    data = {**NEW_ADDRESS, "token": token, "save_address": "y"}
    first = client.post("/checkout", data=data)
    second = client.post("/checkout", data=data)  # the double click
    order = db.session.scalar(select(Order))
    assert orders_count() == 1
    assert first.location.endswith(f"/orders/{order.id}/pay")
    assert second.location == first.location
    assert order.status == OrderStatus.PENDING_PAYMENT and order.total == 3000
    assert order.recipient == "李市民" and order.address == "海南省海口市龙华区滨海大道1号"
    assert stock.available(product.id) == 3
    assert stored_cart(user) == {}
    addresses = db.session.scalars(select(Address).where(Address.user_id == user.id)).all()
    assert [a.detail for a in addresses] == ["滨海大道1号"]


def test_each_rendered_form_has_a_fresh_token(client, auth):
    buyer_with_cart(auth, stocked_product(5))
    assert token_of(checkout_page(client)) != token_of(checkout_page(client))


def test_a_saved_address_can_be_chosen(client, auth):
    product = stocked_product(5)
    user = buyer_with_cart(auth, product)
    address = save_address(
        user,
        {
            "recipient": "王女士",
            "phone": "13900000000",
            "province": "海南省",
            "city": "海口市",
            "district": "美兰区",
            "detail": "海甸岛2号",
        },
    )
    page = checkout_page(client)
    assert "海甸岛2号" in page
    client.post(
        "/checkout",
        data={"token": token_of(page), "delivery_method": "address", "address_id": address.id},
    )
    order = db.session.scalar(select(Order))
    assert (order.recipient, order.phone) == ("王女士", "13900000000")
    assert order.address == "海南省海口市美兰区海甸岛2号"


def test_someone_elses_saved_address_is_404(client, auth):
    other = UserFactory()
    theirs = save_address(
        other,
        {
            "recipient": "别人",
            "phone": "13900000001",
            "province": "海南省",
            "city": "海口市",
            "district": "美兰区",
            "detail": "别处",
        },
    )
    buyer_with_cart(auth, stocked_product(5))
    page = checkout_page(client)
    response = client.post(
        "/checkout",
        data={"token": token_of(page), "delivery_method": "address", "address_id": theirs.id},
    )
    assert response.status_code == 404 and orders_count() == 0


def test_an_invalid_mobile_number_is_refused(client, auth):
    buyer_with_cart(auth, stocked_product(5))
    page = checkout_page(client)
    response = client.post(
        "/checkout", data={**NEW_ADDRESS, "phone": "12345", "token": token_of(page)}
    )
    assert response.status_code == 200
    assert "请输入有效的 11 位手机号码" in response.get_data(as_text=True)
    assert orders_count() == 0


def test_pick_up_at_a_village_station(client, auth):
    point = PickupPoint(
        name="南渡江村电商服务站",
        kind=PickupKind.VILLAGE_STATION,
        district="琼山区",
        town="红旗镇",
        village="南渡江村",
        address="村委会一楼",
    )
    closed = PickupPoint(
        name="已停用服务站",
        kind=PickupKind.TOWN_CENTRE,
        district="琼山区",
        town="红旗镇",
        address="x",
        active=False,
    )
    db.session.add_all([point, closed])
    db.session.commit()
    buyer_with_cart(auth, stocked_product(5))
    page = checkout_page(client)
    assert "南渡江村电商服务站" in page and "已停用服务站" not in page
    pickup = {"token": token_of(page), "delivery_method": "pickup", "pickup_point_id": point.id}
    # the station hands the goods over by phone number: none given, no order
    refused = client.post("/checkout", data=pickup)
    assert "自提需要填写取货人手机号" in refused.get_data(as_text=True)
    assert orders_count() == 0
    client.post("/checkout", data={**pickup, "pickup_phone": "13912345678"})
    order = db.session.scalar(select(Order))
    assert order.delivery_method == "pickup" and order.pickup_point_id == point.id
    assert order.phone == "13912345678"


def test_out_of_stock_at_checkout_keeps_the_cart_and_says_why(client, auth):
    product = stocked_product(2)
    user = buyer_with_cart(auth, product, quantity=2)
    page = checkout_page(client)
    stock.sell([stock.Goods(product.id, 1)], Ref("test"))
    response = client.post("/checkout", data={**NEW_ADDRESS, "token": token_of(page)})
    assert response.status_code == 302 and response.location.endswith("/cart")
    assert "库存不足" in client.get("/cart").get_data(as_text=True)
    assert orders_count() == 0
    assert stored_cart(user) == {product.id: 2}
    assert stock.available(product.id) == 1


def test_an_empty_cart_cannot_check_out(client, auth):
    auth.login(UserFactory().email)
    response = client.get("/checkout")
    assert response.status_code == 302 and response.location.endswith("/cart")
