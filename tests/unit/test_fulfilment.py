"""Vendor fulfilment, bureau after-sales refunds and pick-up points (issue 6, items 6-7):
a vendor sees and ships only its own part of an order; its cancellation refunds exactly
its lines; the bureau refunds delivered goods with a reason and never more than was paid;
the bureau keeps the list of pick-up points checkout offers."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import func, select

from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry, OrgKind, Role
from orders.ledger.models import Attribution, Order, OrderStatus, Refund
from orders.shop.checkout import Delivery, place_order
from orders.shop.fulfilment import after_sales_refund, confirm_receipt, ship_part
from orders.shop.models import PickupKind, PickupPoint, Shipment, ShipmentStatus
from orders.shop.payment import complete_payment, start_payment
from orders.shop.pickup import create_pickup_point, set_pickup_point_active
from vendors import stock

from ..factories import MembershipFactory, UserFactory, member_of
from ..stock_helpers import warehouse_level
from .test_shop_core import address, stocked_product


def staff_of(org, role: str = Role.STAFF):
    return MembershipFactory(org=org, role=role).user


def paid_order(buyer, items: dict, token: str, delivery=None) -> Order:
    order = place_order(buyer, {p.id: q for p, q in items.items()}, delivery or address(), token)
    assert complete_payment("test", start_payment(order).reference).status == "paid"
    return order


def part(order: Order, vendor_id: int) -> Shipment:
    db.session.refresh(order)
    return next(s for s in order.shipments if s.vendor_id == vendor_id)


def attributed(order: Order, vendor_id: int | None = None) -> int:
    stmt = select(func.coalesce(func.sum(Attribution.amount), 0)).where(
        Attribution.order_id == order.id
    )
    if vendor_id is not None:
        stmt = stmt.where(Attribution.vendor_id == vendor_id)
    return db.session.scalar(stmt)


@pytest.fixture
def market():
    return two_vendor_market()


def two_vendor_market() -> dict:
    """Two vendors with stock, a buyer with a paid order holding one product of each,
    and staff of each vendor."""
    apples = stocked_product(10, price=1000)  # vendor A
    honey = stocked_product(10, price=2500)  # vendor B
    buyer = UserFactory(name="李市民")
    order = paid_order(buyer, {apples: 2, honey: 1}, "t-market")
    return {
        "apples": apples,
        "honey": honey,
        "a": apples.vendor,
        "b": honey.vendor,
        "staff_a": staff_of(apples.vendor),
        "staff_b": staff_of(honey.vendor),
        "buyer": buyer,
        "order": order,
    }


def bureau_staff():
    return member_of(OrgKind.BUREAU, Role.STAFF, name="海口市乡村振兴局")


# ---------------------------------------------------------------- vendor: scope


def test_a_vendor_lists_only_its_own_lines_of_paid_orders(client, auth, market):
    buyer, apples, honey = market["buyer"], market["apples"], market["honey"]
    only_b = paid_order(buyer, {honey: 2}, "t-only-b")
    unpaid = place_order(buyer, {apples.id: 1}, address(), "t-unpaid")
    auth.login(market["staff_a"].email)

    page = client.get("/vendor/orders").get_data(as_text=True)

    assert market["order"].number in page
    assert apples.name in page and "李市民" not in page
    assert honey.name not in page  # the other vendor's line of the same order
    assert only_b.number not in page  # the buyer's other order, with B's goods only
    assert unpaid.number not in page  # not paid: nothing to ship yet
    assert page.count('data-testid="vendor-order-row"') == 1


def test_the_list_filters_by_shipment_status(client, auth, market):
    ship_part(market["staff_a"], market["a"], market["order"].id, "顺丰速运", "SF100")
    auth.login(market["staff_a"].email)
    shipped = client.get("/vendor/orders?status=shipped").get_data(as_text=True)
    pending = client.get("/vendor/orders?status=pending").get_data(as_text=True)
    assert market["order"].number in shipped
    assert market["order"].number not in pending and "没有符合条件的订单" in pending


def test_the_detail_shows_the_vendors_part_and_where_it_goes(client, auth, market):
    auth.login(market["staff_a"].email)
    page = client.get(f"/vendor/orders/{market['order'].id}").get_data(as_text=True)
    assert market["apples"].name in page and market["honey"].name not in page
    assert "李市民" in page and "13800000000" in page and "滨海大道1号" in page
    assert "¥20.00" in page  # this vendor's amount, not the order's ¥45.00
    assert "45.00" not in page


def test_another_vendors_order_is_404_and_nothing_changes(client, auth, market):
    honey = market["honey"]
    only_b = paid_order(market["buyer"], {honey: 1}, "t-only-b")
    auth.login(market["staff_a"].email)
    before = db.session.scalar(select(func.count(AuditEntry.id)))

    assert client.get(f"/vendor/orders/{only_b.id}").status_code == 404
    shipped = client.post(
        f"/vendor/orders/{only_b.id}/ship", data={"carrier": "顺丰", "tracking_no": "X1"}
    )
    assert shipped.status_code == 404
    cancelled = client.post(
        f"/vendor/orders/{only_b.id}/cancel", data={"token": fresh_token(), "reason": "不想发"}
    )
    assert cancelled.status_code == 404
    assert client.get("/vendor/orders/999999").status_code == 404

    assert part(only_b, honey.vendor_id).status == ShipmentStatus.PENDING
    assert part(only_b, honey.vendor_id).tracking_no is None
    assert only_b.refunded == 0 and attributed(only_b) == only_b.total
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before


def test_non_sellers_cannot_open_the_vendor_pages(client, auth, market):
    auth.login(market["buyer"].email)
    assert client.get("/vendor/orders").status_code == 403
    assert client.get(f"/vendor/orders/{market['order'].id}").status_code == 403


# ---------------------------------------------------------------- vendor: shipping


def test_shipping_needs_a_carrier_and_a_tracking_number(client, auth, market):
    order, a = market["order"], market["a"]
    auth.login(market["staff_a"].email)
    response = client.post(
        f"/vendor/orders/{order.id}/ship", data={"carrier": "顺丰速运", "tracking_no": "  "}
    )
    assert response.status_code == 400 and "请填写运单号" in response.get_data(as_text=True)
    assert part(order, a.id).status == ShipmentStatus.PENDING
    with pytest.raises(ValidationError):
        ship_part(market["staff_a"], a, order.id, "", "SF1")
    assert part(order, a.id).status == ShipmentStatus.PENDING


def test_shipping_marks_only_the_vendors_part_and_twice_is_refused(client, auth, market):
    order, a, b = market["order"], market["a"], market["b"]
    auth.login(market["staff_a"].email)
    response = client.post(
        f"/vendor/orders/{order.id}/ship",
        data={"carrier": "顺丰速运", "tracking_no": "SF1234567890"},
        follow_redirects=True,
    )
    assert "已发货" in response.get_data(as_text=True)
    shipment = part(order, a.id)
    assert shipment.status == ShipmentStatus.SHIPPED
    assert (shipment.carrier, shipment.tracking_no) == ("顺丰速运", "SF1234567890")
    assert part(order, b.id).status == ShipmentStatus.PENDING

    again = client.post(
        f"/vendor/orders/{order.id}/ship",
        data={"carrier": "中通快递", "tracking_no": "ZT999"},
        follow_redirects=True,
    )
    assert "该包裹当前状态不能发货" in again.get_data(as_text=True)
    assert part(order, a.id).tracking_no == "SF1234567890"


# ---------------------------------------------------------------- vendor: cancelling


def test_a_vendor_cancellation_refunds_exactly_its_lines(client, auth, market):
    order, a, b = market["order"], market["a"], market["b"]
    apples, honey = market["apples"], market["honey"]
    auth.login(market["staff_a"].email)
    assert stock.available(apples.id) == 8 and stock.available(honey.id) == 9

    response = client.post(
        f"/vendor/orders/{order.id}/cancel",
        data={"token": fresh_token(), "reason": "台风导致荔枝受损，无法发货"},
        follow_redirects=True,
    )

    assert "已取消本店的商品" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 2000 and order.status == OrderStatus.PAID
    assert attributed(order, a.id) == 0  # A's attribution nets to zero
    assert attributed(order, b.id) == 2500  # B's lines untouched
    assert stock.available(apples.id) == 10 and stock.available(honey.id) == 9
    level = warehouse_level(apples.id)
    assert (level.on_hand, level.reserved) == (10, 0)
    lines = {line.vendor_id: line for line in order.lines}
    assert lines[a.id].refunded_quantity == 2 and lines[b.id].refunded_quantity == 0
    cancelled = part(order, a.id)
    assert cancelled.status == ShipmentStatus.CANCELLED
    assert cancelled.cancel_reason == "台风导致荔枝受损，无法发货"
    assert part(order, b.id).status == ShipmentStatus.PENDING
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert refund.amount == 2000 and refund.reason == "台风导致荔枝受损，无法发货"
    # B still ships its part; the buyer's order page shows the reason
    ship_part(market["staff_b"], b, order.id, "EMS", "E1")
    assert part(order, b.id).status == ShipmentStatus.SHIPPED


def test_cancelling_needs_a_reason_and_is_refused_after_shipping(client, auth, market):
    order, a = market["order"], market["a"]
    auth.login(market["staff_a"].email)
    response = client.post(
        f"/vendor/orders/{order.id}/cancel", data={"token": fresh_token(), "reason": ""}
    )
    assert response.status_code == 400 and "请填写取消原因" in response.get_data(as_text=True)
    assert part(order, a.id).status == ShipmentStatus.PENDING and order.refunded == 0

    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    late = client.post(
        f"/vendor/orders/{order.id}/cancel",
        data={"token": fresh_token(), "reason": "缺货"},
        follow_redirects=True,
    )
    assert "该包裹当前状态不能取消" in late.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 0 and attributed(order) == order.total


# ---------------------------------------------------------------- bureau: after-sales


def fresh_token() -> str:
    """The one-time token a rendered refund form carries."""
    return secrets.token_urlsafe(24)


def delivered(market) -> Order:
    order = market["order"]
    ship_part(market["staff_a"], market["a"], order.id, "顺丰速运", "SF1")
    ship_part(market["staff_b"], market["b"], order.id, "EMS", "E1")
    confirm_receipt(market["buyer"], order.id)
    db.session.refresh(order)
    assert order.status == OrderStatus.COMPLETED
    return order


def test_bureau_refunds_part_of_a_delivered_order_with_a_reason(client, auth, market):
    order = delivered(market)
    apples_line = next(line for line in order.lines if line.product_id == market["apples"].id)
    staff = bureau_staff()
    auth.login(staff.email)
    page = client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)
    assert order.number in page and market["honey"].name in page

    response = client.post(
        f"/bureau/orders/{order.id}/refund",
        data={
            "token": fresh_token(),
            "reason": "到货时 1 袋破损，买家提供了照片",
            f"qty-{apples_line.id}": "1",
        },
        follow_redirects=True,
    )

    assert "售后退款已完成" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 1000 and order.status == OrderStatus.COMPLETED
    assert attributed(order) == order.total - 1000
    assert attributed(order, market["b"].id) == 2500
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert refund.reason == "到货时 1 袋破损，买家提供了照片" and refund.actor_id == staff.id
    # the goods are with the buyer: nothing comes back on hand
    assert stock.available(market["apples"].id) == 8
    assert "到货时 1 袋破损" in client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)


def test_the_refund_form_submitted_twice_refunds_once(client, auth, market):
    order = delivered(market)
    apples_line = next(line for line in order.lines if line.product_id == market["apples"].id)
    auth.login(bureau_staff().email)
    page = client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"token": token, "reason": "破损", f"qty-{apples_line.id}": "1"}

    first = client.post(f"/bureau/orders/{order.id}/refund", data=data)
    second = client.post(f"/bureau/orders/{order.id}/refund", data=data)

    assert first.status_code == 302
    assert second.status_code == 400 and "已经提交过" in second.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 1000 and attributed(order) == order.total - 1000
    assert db.session.scalar(select(func.count(Refund.id))) == 1
    # a form without its token refunds nothing
    no_token = dict(data, token="")
    assert client.post(f"/bureau/orders/{order.id}/refund", data=no_token).status_code == 400
    assert db.session.scalar(select(func.count(Refund.id))) == 1


def test_a_refund_needs_a_reason_and_a_quantity(client, auth, market):
    order = delivered(market)
    line = order.lines[0]
    auth.login(bureau_staff().email)
    no_reason = client.post(
        f"/bureau/orders/{order.id}/refund", data={"token": fresh_token(), f"qty-{line.id}": "1"}
    )
    assert no_reason.status_code == 400
    assert "请填写退款原因" in no_reason.get_data(as_text=True)
    nothing = client.post(
        f"/bureau/orders/{order.id}/refund", data={"token": fresh_token(), "reason": "质量问题"}
    )
    assert nothing.status_code == 400
    assert "请选择要退款的商品" in nothing.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 0 and attributed(order) == order.total


def test_an_over_refund_is_refused_and_changes_nothing(client, auth, market):
    order = delivered(market)
    honey_line = next(line for line in order.lines if line.product_id == market["honey"].id)
    staff = bureau_staff()
    auth.login(staff.email)
    response = client.post(
        f"/bureau/orders/{order.id}/refund",
        data={"token": fresh_token(), "reason": "全部退款", f"qty-{honey_line.id}": "2"},
    )
    assert response.status_code == 400
    assert "最多还能退 1" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.refunded == 0 and attributed(order) == order.total
    assert db.session.scalar(select(func.count(Refund.id))) == 0

    # once the whole line is refunded, not one fen more
    bureau = staff.memberships[0].org
    after_sales_refund(staff, bureau, order.id, {honey_line.id: 1}, "变质")
    with pytest.raises(ValidationError):
        after_sales_refund(staff, bureau, order.id, {honey_line.id: 1}, "再退一次")
    db.session.refresh(order)
    assert order.refunded == 2500 and attributed(order, market["b"].id) == 0
    negative = client.post(
        f"/bureau/orders/{order.id}/refund",
        data={"token": fresh_token(), "reason": "负数", f"qty-{order.lines[0].id}": "-1"},
    )
    assert negative.status_code == 400
    db.session.refresh(order)
    assert order.refunded == 2500


def test_after_sales_for_an_unshipped_part_restocks_and_cancels_it(market):
    staff = bureau_staff()
    order, b = market["order"], market["b"]
    ship_part(market["staff_a"], market["a"], order.id, "顺丰速运", "SF1")
    honey_line = next(line for line in order.lines if line.vendor_id == b.id)
    after_sales_refund(
        staff, staff.memberships[0].org, order.id, {honey_line.id: 1}, "商家缺货，客服协调退款"
    )
    assert stock.available(market["honey"].id) == 10
    assert part(order, b.id).status == ShipmentStatus.CANCELLED
    assert part(order, market["a"].id).status == ShipmentStatus.SHIPPED


def test_the_bureau_finds_orders_by_number(client, auth, market):
    other = paid_order(market["buyer"], {market["honey"]: 1}, "t-other")
    auth.login(bureau_staff().email)
    found = client.get(f"/bureau/orders?q={market['order'].number.lower()}").get_data(as_text=True)
    assert market["order"].number in found and other.number not in found
    everything = client.get("/bureau/orders").get_data(as_text=True)
    assert market["order"].number in everything and other.number in everything
    none = client.get("/bureau/orders?q=ON1999%25").get_data(as_text=True)
    assert "没有找到订单" in none


@pytest.mark.parametrize("who", ["citizen", "vendor", "agency"])
def test_only_bureau_staff_open_the_bureau_pages(client, auth, market, who):
    user = {
        "citizen": market["buyer"],
        "vendor": market["staff_a"],
        "agency": member_of(OrgKind.AGENCY, Role.ADMIN),
    }[who]
    point = PickupPoint(
        name="施茶村电商服务站", kind="village_station", district="秀英区", town="石山镇",
        village="施茶村", address="施茶村委会旁",
    )  # fmt: skip
    db.session.add(point)
    db.session.commit()
    order = market["order"]
    auth.login(user.email)
    for url in (
        "/bureau/orders",
        f"/bureau/orders/{order.id}",
        "/bureau/pickup-points",
        "/bureau/pickup-points/new",
        f"/bureau/pickup-points/{point.id}/edit",
    ):
        assert client.get(url).status_code == 403, url
    line = order.lines[0]
    refund = client.post(
        f"/bureau/orders/{order.id}/refund",
        data={"token": fresh_token(), "reason": "x", f"qty-{line.id}": "1"},
    )
    assert refund.status_code == 403
    assert client.post(f"/bureau/pickup-points/{point.id}/deactivate").status_code == 403
    db.session.refresh(order)
    db.session.refresh(point)
    assert order.refunded == 0 and point.active


def test_visitors_are_sent_to_log_in(client):
    response = client.get("/bureau/pickup-points")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_navbar_links_to_the_new_pages(client, auth, market):
    auth.login(market["staff_a"].email)
    assert "/vendor/orders" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(bureau_staff().email)
    home = client.get("/").get_data(as_text=True)
    assert "/bureau/orders" in home and "/bureau/pickup-points" in home


# ---------------------------------------------------------------- pick-up points

STATION = {
    "name": "施茶村电商服务站",
    "kind": "village_station",
    "district": "秀英区",
    "town": "石山镇",
    "village": "施茶村",
    "address": "施茶村委会一楼",
    "phone": "0898-68660001",
}


def test_pickup_point_create_edit_deactivate(client, auth):
    staff = bureau_staff()
    auth.login(staff.email)
    created = client.post("/bureau/pickup-points/new", data=STATION, follow_redirects=True)
    assert "已添加自提点" in created.get_data(as_text=True)
    point = db.session.scalar(select(PickupPoint))
    assert (point.name, point.kind, point.village, point.active) == (
        "施茶村电商服务站",
        PickupKind.VILLAGE_STATION,
        "施茶村",
        True,
    )
    listing = client.get("/bureau/pickup-points").get_data(as_text=True)
    assert "施茶村电商服务站" in listing and "村级电商服务站" in listing

    edited = client.post(
        f"/bureau/pickup-points/{point.id}/edit",
        data={**STATION, "address": "施茶村文化室", "phone": "13907561234"},
        follow_redirects=True,
    )
    assert "自提点已更新" in edited.get_data(as_text=True)
    db.session.refresh(point)
    assert (point.address, point.phone) == ("施茶村文化室", "13907561234")

    client.post(f"/bureau/pickup-points/{point.id}/deactivate")
    db.session.refresh(point)
    assert point.active is False
    client.post(f"/bureau/pickup-points/{point.id}/activate")
    db.session.refresh(point)
    assert point.active is True
    actions = set(
        db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "pickup_points")
        )
    )
    assert actions == {
        "pickup_point.create",
        "pickup_point.update",
        "pickup_point.deactivate",
        "pickup_point.activate",
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"village": ""}, "village", "村级电商服务站须填写所在村"),
        ({"phone": "12345"}, "phone", "请输入有效的手机号或固定电话"),
        ({"kind": "warehouse"}, "kind", ""),
        ({"town": ""}, "town", "请填写此项"),
    ],
)
def test_pickup_point_validation(client, auth, change, field, message):
    auth.login(bureau_staff().email)
    response = client.post("/bureau/pickup-points/new", data={**STATION, **change})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PickupPoint.id))) == 0


def test_a_town_centre_needs_no_village_but_names_are_unique_per_town():
    staff = bureau_staff()
    bureau = staff.memberships[0].org
    centre = {**STATION, "name": "石山镇电商服务中心", "kind": "town_centre", "village": ""}
    point = create_pickup_point(staff, bureau, centre)
    assert point.village is None and point.kind == PickupKind.TOWN_CENTRE
    with pytest.raises(ValidationError) as refused:
        create_pickup_point(staff, bureau, centre)
    assert "name" in refused.value.errors


def test_checkout_refuses_an_inactive_pickup_point():
    staff = bureau_staff()
    bureau = staff.memberships[0].org
    point = create_pickup_point(staff, bureau, STATION)
    product = stocked_product(3)
    buyer = UserFactory()
    set_pickup_point_active(staff, bureau, point.id, False)
    pickup = Delivery("pickup", phone="13800000000", pickup_point_id=point.id)

    with pytest.raises(ValidationError) as refused:
        place_order(buyer, {product.id: 1}, pickup, "t-pickup-1")
    assert "自提点" in refused.value.message
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert stock.available(product.id) == 3

    set_pickup_point_active(staff, bureau, point.id, True)
    order = place_order(buyer, {product.id: 1}, pickup, "t-pickup-2")
    assert order.pickup_point_id == point.id


def test_a_vendor_sees_the_pickup_point_and_buyer_of_a_pickup_order(client, auth):
    staff = bureau_staff()
    point = create_pickup_point(staff, staff.memberships[0].org, STATION)
    product = stocked_product(3)
    buyer = UserFactory(name="王阿姨", phone="13976540000")
    order = paid_order(
        buyer,
        {product: 1},
        "t-pickup",
        Delivery("pickup", phone="13976540000", pickup_point_id=point.id),
    )
    auth.login(staff_of(product.vendor).email)
    page = client.get(f"/vendor/orders/{order.id}").get_data(as_text=True)
    assert "施茶村电商服务站" in page and "王阿姨" in page and "13976540000" in page


# ---------------------------------------------------------------- demo


def test_the_shop_demo_has_orders_in_every_state_and_loads_once():
    from catalog.demo import load_catalog_demo
    from marketplace.demo import KERNEL_STEPS
    from orders.shop.demo import load_shop_demo
    from vendors.demo import load_stock_demo

    for step in [*KERNEL_STEPS, load_catalog_demo, load_stock_demo]:
        step()
    assert load_shop_demo() is True
    assert load_shop_demo() is False

    orders = list(db.session.scalars(select(Order).where(Order.checkout_token.like("demo-shop-%"))))
    states = {o.status for o in orders}
    assert states == {
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
    }
    parts = {s.status for o in orders for s in o.shipments}
    assert parts == set(ShipmentStatus)
    assert any(0 < o.refunded < o.total for o in orders)  # part refunded
    assert any(o.refunded == o.total and o.total for o in orders)  # fully refunded
    for order in orders:  # the ledger agrees with the orders
        expected = order.total - order.refunded if order.is_paid else 0
        assert attributed(order) == expected, order.number
    points = list(db.session.scalars(select(PickupPoint)))
    assert {p.kind for p in points} == set(PickupKind)
    assert sum(not p.active for p in points) == 1
    citizens = db.session.scalar(
        select(func.count(func.distinct(Order.buyer_user_id))).where(
            Order.checkout_token.like("demo-shop-%")
        )
    )
    assert citizens == 3
