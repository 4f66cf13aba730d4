"""Pick-up that works (issue 13, item 3): a pick-up order needs a phone, carries a
pick-up code the buyer sees once paid, the vendor delivers to the station without a
courier number, and the station's staff record 到站待取 and 已取件 (by the code)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.errors import Forbidden, ValidationError
from marketplace.extensions import db
from orders.ledger.models import OrderStatus
from orders.shop import station
from orders.shop.checkout import Delivery, place_order
from orders.shop.fulfilment import ship_part
from orders.shop.models import Shipment, ShipmentStatus
from orders.shop.pickup import create_pickup_point

from ..factories import UserFactory
from .test_fulfilment import STATION, bureau_staff, paid_order, staff_of
from .test_shop_core import stocked_product


@pytest.fixture
def pickup_world():
    bureau_member = bureau_staff()
    bureau = bureau_member.memberships[0].org
    point = create_pickup_point(bureau_member, bureau, STATION)
    keeper = UserFactory(name="站长老王")
    station.assign_staff(bureau_member, bureau, point.id, keeper.email)
    apples, honey = stocked_product(5, price=1000), stocked_product(5, price=2000)
    buyer = UserFactory(name="王阿姨")
    delivery = Delivery("pickup", phone="13976540000", pickup_point_id=point.id)
    order = paid_order(buyer, {apples: 1, honey: 1}, "t-station", delivery)
    return {
        "bureau": bureau,
        "bureau_member": bureau_member,
        "point": point,
        "keeper": keeper,
        "buyer": buyer,
        "order": order,
        "apples": apples,
        "honey": honey,
    }


def code_of(order) -> str:
    codes = {s.pickup_code for s in order.shipments}
    assert len(codes) == 1
    return codes.pop()


def test_a_pick_up_order_needs_a_phone():
    bureau_member = bureau_staff()
    point = create_pickup_point(bureau_member, bureau_member.memberships[0].org, STATION)
    product = stocked_product(2)
    with pytest.raises(ValidationError) as refused:
        place_order(
            UserFactory(), {product.id: 1}, Delivery("pickup", pickup_point_id=point.id), "t-np"
        )
    assert "pickup_phone" in refused.value.errors


def test_the_buyer_sees_the_code_once_paid(client, auth, pickup_world):
    order = pickup_world["order"]
    code = code_of(order)
    assert re.fullmatch(r"\d{6}", code)
    auth.login(pickup_world["buyer"].email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="pickup-code"' in page and code in page
    # an unpaid pick-up order shows no code yet
    unpaid = place_order(
        pickup_world["buyer"],
        {pickup_world["apples"].id: 1},
        Delivery("pickup", phone="13976540000", pickup_point_id=pickup_world["point"].id),
        "t-unpaid-pickup",
    )
    assert code_of(unpaid) != code  # open codes at one point never clash
    page = client.get(f"/orders/{unpaid.id}").get_data(as_text=True)
    assert 'data-testid="pickup-code"' not in page


def test_vendor_delivers_to_the_station_without_a_tracking_number(client, auth, pickup_world):
    order, apples = pickup_world["order"], pickup_world["apples"]
    vendor_staff = staff_of(apples.vendor)
    auth.login(vendor_staff.email)
    response = client.post(
        f"/vendor/orders/{order.id}/ship", data={"carrier": "", "tracking_no": ""}
    )
    assert response.status_code == 302
    shipment = db.session.scalar(
        select(Shipment).where(
            Shipment.order_id == order.id, Shipment.vendor_id == apples.vendor_id
        )
    )
    assert shipment.status == ShipmentStatus.SHIPPED and shipment.tracking_no is None
    assert shipment.carrier == "商家自送到服务站"


def test_arrival_and_collection_at_the_station(client, auth, pickup_world):
    order, keeper, point = pickup_world["order"], pickup_world["keeper"], pickup_world["point"]
    for product in (pickup_world["apples"], pickup_world["honey"]):
        ship_part(staff_of(product.vendor), product.vendor, order.id, "", "")
    auth.login(keeper.email)
    page = client.get(f"/station/{point.id}").get_data(as_text=True)
    assert page.count('data-testid="arrive-form"') == 2

    for shipment in list(order.shipments):
        client.post(f"/station/{point.id}/arrive/{shipment.id}")
    db.session.refresh(order)
    assert {s.status for s in order.shipments} == {ShipmentStatus.AT_STATION}

    wrong = client.post(
        f"/station/{point.id}/collect",
        data={"code": "000000" if code_of(order) != "000000" else "111111"},
    )
    assert wrong.status_code == 400 and "取件码不正确" in wrong.get_data(as_text=True)
    db.session.refresh(order)
    assert order.status == OrderStatus.PAID

    done = client.post(f"/station/{point.id}/collect", data={"code": code_of(order)})
    assert done.status_code == 302
    db.session.refresh(order)
    assert {s.status for s in order.shipments} == {ShipmentStatus.RECEIVED}
    assert order.status == OrderStatus.COMPLETED

    auth.logout()
    auth.login(pickup_world["buyer"].email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "到站待取" in page and "已取件" in page
    assert 'data-testid="pickup-code"' not in page  # collected: the code is spent


def test_only_the_points_staff_work_there(client, auth, pickup_world):
    point, order = pickup_world["point"], pickup_world["order"]
    stranger = UserFactory()
    with pytest.raises(Forbidden):
        station.collect(stranger, point.id, code_of(order))
    auth.login(stranger.email)
    assert client.get(f"/station/{point.id}").status_code == 403
    assert client.post(f"/station/{point.id}/collect", data={"code": "123456"}).status_code == 403
    assert client.get("/station/999999").status_code == 404


def test_the_bureau_assigns_station_staff(client, auth, pickup_world):
    point = pickup_world["point"]
    newcomer = UserFactory(email="xiaoli@example.com")
    auth.login(pickup_world["bureau_member"].email)
    page = client.get(f"/bureau/pickup-points/{point.id}/staff").get_data(as_text=True)
    assert "站长老王" in page
    client.post(f"/bureau/pickup-points/{point.id}/staff", data={"email": "xiaoli@example.com"})
    assert station.works_at_a_point(newcomer)
    unknown = client.post(
        f"/bureau/pickup-points/{point.id}/staff", data={"email": "nobody@example.com"}
    )
    assert unknown.status_code == 400
    # a citizen cannot open the page
    auth.logout()
    auth.login(newcomer.email)
    assert client.get(f"/bureau/pickup-points/{point.id}/staff").status_code == 403
