"""The shop's after-sales and pick-up on a phone (issue 13), in a real browser at 390x844:

1. A buyer's order holds two vendors' goods. One vendor ships its part; the buyer cancels
   the other part, asks to return part of the shipped one, the vendor accepts with its
   return address, the buyer sends the goods back with a tracking number and the vendor
   confirms receipt. The refunds show on the order, and the ledger holds one Refund row
   for each, with the households' attribution net of both.
2. A pick-up order shows its pick-up code (取件码) to the buyer; the vendor delivers to
   the station, the station's staff record 到站待取 and hand it over against the code.

The orders are placed and paid through the shop's own services (checkout's own page has
its browser test in test_shop.py); every step after that is a person on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import OrgKind, Role

from ..conftest import TEST_PASSWORD
from ..factories import MembershipFactory, UserFactory, member_of
from ..order_factories import DeliveryFactory, PaidOrderFactory
from ..vendor_factories import SellableProductFactory

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
STATION = {
    "name": "施茶村电商服务站",
    "kind": "village_station",
    "district": "秀英区",
    "town": "石山镇",
    "village": "施茶村",
    "address": "施茶村委会一楼",
    "phone": "0898-68660001",
}


def phone_login(page, email: str) -> None:
    """Log in through the form; on a phone the menu holding the user's name is folded."""
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("邮箱").fill(email)
    form.get_by_label("密码", exact=True).fill(TEST_PASSWORD)
    form.get_by_role("button", name="登录").click()
    page.get_by_test_id("user-menu").wait_for(state="attached")


def phone_logout(page) -> None:
    page.context.clear_cookies()


def fits(page) -> None:
    """Nothing on the page is wider than the phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def shipment_card(page, vendor_name: str):
    return page.get_by_test_id("shipment").filter(has_text=vendor_name)


def two_vendor_order() -> dict:
    apples = SellableProductFactory(name="妃子笑荔枝", price=1000, unit="斤", stock=10, links=3)
    honey = SellableProductFactory(name="百花蜂蜜", price=2500, unit="瓶", stock=10, links=3)
    buyer = UserFactory(name="李市民")
    order = PaidOrderFactory(buyer=buyer, items={apples: 2, honey: 1})
    return {
        "order_id": order.id,
        "number": order.number,
        "buyer": buyer.email,
        "staff_a": MembershipFactory(org=apples.vendor, role=Role.STAFF).user.email,
        "staff_b": MembershipFactory(org=honey.vendor, role=Role.STAFF).user.email,
        "vendor_a": apples.vendor.name,
        "vendor_b": honey.vendor.name,
    }


def ledger_of(order_id: int) -> dict:
    from orders.ledger.models import Attribution, Order, Refund

    order = db.session.get(Order, order_id)
    refunds = db.session.scalars(
        select(Refund.amount).where(Refund.order_id == order_id).order_by(Refund.id)
    ).all()
    attributed = db.session.scalar(
        select(func.coalesce(func.sum(Attribution.amount), 0)).where(
            Attribution.order_id == order_id
        )
    )
    return {"refunds": list(refunds), "attributed": attributed, "refunded": order.refunded}


def test_after_sales_on_a_phone_cancel_one_part_return_the_other(page, live_server):
    arranged = live_server.run(two_vendor_order)
    order_url = f"/orders/{arranged['order_id']}"
    page.set_viewport_size(PHONE)

    # vendor A ships its part from the phone
    phone_login(page, arranged["staff_a"])
    page.goto(f"/vendor/orders/{arranged['order_id']}")
    form = page.get_by_test_id("ship-form")
    form.get_by_label("快递公司").fill("顺丰速运")
    form.get_by_label("运单号").fill("SF1400023851201")
    form.get_by_test_id("ship-button").click()
    page.get_by_text("已发货，买家会收到发货通知。").wait_for()
    phone_logout(page)

    # the buyer cancels vendor B's part, not shipped yet
    phone_login(page, arranged["buyer"])
    page.goto(order_url)
    fits(page)
    honey = shipment_card(page, arranged["vendor_b"])
    honey.get_by_test_id("cancel-part-form").locator("input[name=reason]").fill("不要蜂蜜了")
    honey.get_by_role("button", name="取消该包裹").click()
    page.get_by_text("该包裹已取消").wait_for()
    assert (
        shipment_card(page, arranged["vendor_b"]).get_by_test_id("shipment-status").inner_text()
        == "已取消"
    )
    assert page.get_by_test_id("order-refunded").inner_text() == "¥25.00"

    # ... and asks to return one of the two jin of lychees
    shipment_card(page, arranged["vendor_a"]).get_by_test_id("after-sales-link").click()
    form = page.get_by_test_id("after-sales-form")
    form.get_by_label("退货退款").check()
    form.get_by_label("妃子笑荔枝").fill("1")
    form.get_by_label("售后原因").fill("有一斤荔枝压坏了")
    fits(page)
    form.get_by_role("button", name="提交申请").click()
    page.get_by_text("售后申请已提交").wait_for()
    request = page.get_by_test_id("after-sales-request")
    assert request.get_by_test_id("after-sales-status").inner_text() == "待商家处理"
    phone_logout(page)

    # vendor A sees it waiting on its dashboard and accepts with its return address
    phone_login(page, arranged["staff_a"])
    page.goto("/vendor")
    assert page.get_by_test_id("after-sales-waiting").inner_text() == "1"
    page.get_by_test_id("today-after-sales").click()
    page.get_by_test_id("after-sales-row").get_by_role("link", name="去处理").click()
    accept = page.get_by_test_id("accept-form")
    accept.get_by_label("退货地址").fill("海口市龙华区果园路1号 王经理 13800000001")
    fits(page)
    accept.get_by_role("button", name="同意").click()
    page.get_by_text("已同意售后申请。").wait_for()
    phone_logout(page)

    # the buyer sends the lychee back
    phone_login(page, arranged["buyer"])
    page.goto(order_url)
    request = page.get_by_test_id("after-sales-request")
    assert "果园路1号" in request.inner_text()
    back = request.get_by_test_id("return-form")
    back.get_by_placeholder("快递公司").fill("中通快递")
    back.get_by_placeholder("运单号").fill("ZT7788990011")
    back.get_by_role("button", name="提交退货单号").click()
    page.get_by_test_id("after-sales-status").filter(has_text="买家已退货").wait_for()
    phone_logout(page)

    # vendor A receives it: the lychee is refunded
    phone_login(page, arranged["staff_a"])
    page.goto(f"/vendor/orders/{arranged['order_id']}")
    assert "ZT7788990011" in page.get_by_test_id("vendor-after-sales").inner_text()
    page.get_by_test_id("received-form").get_by_role("button").click()
    page.get_by_text("已确认收到退货").wait_for()
    page.goto("/vendor")
    assert page.get_by_test_id("after-sales-waiting").inner_text() == "0"
    phone_logout(page)

    # the order shows both refunds; the ledger has a Refund row for each
    phone_login(page, arranged["buyer"])
    page.goto(order_url)
    assert page.get_by_test_id("order-refunded").inner_text() == "¥35.00"
    assert page.get_by_test_id("after-sales-status").inner_text() == "已退款"
    lychees = shipment_card(page, arranged["vendor_a"]).inner_text()
    assert "已退 1 斤" in lychees
    fits(page)
    assert live_server.run(lambda: ledger_of(arranged["order_id"])) == {
        "refunds": [2500, 1000],
        "attributed": 1000,  # ¥45.00 sold, ¥35.00 refunded: the households keep ¥10.00
        "refunded": 3500,
    }


def pickup_order() -> dict:
    from orders.shop import station
    from orders.shop.pickup import create_pickup_point

    bureau_member = member_of(OrgKind.BUREAU, Role.STAFF, name="海口市乡村振兴局")
    point = create_pickup_point(bureau_member, bureau_member.memberships[0].org, STATION)
    keeper = UserFactory(name="站长老王")
    station.assign_staff(bureau_member, bureau_member.memberships[0].org, point.id, keeper.email)
    oranges = SellableProductFactory(name="琼中绿橙", price=1500, unit="箱", stock=5, links=3)
    buyer = UserFactory(name="王阿姨")
    order = PaidOrderFactory(
        buyer=buyer,
        items={oranges: 1},
        delivery=DeliveryFactory(method="pickup", phone="13976540000", pickup_point_id=point.id),
    )
    return {
        "order_id": order.id,
        "number": order.number,
        "buyer": buyer.email,
        "keeper": keeper.email,
        "staff": MembershipFactory(org=oranges.vendor, role=Role.STAFF).user.email,
        "code": order.shipments[0].pickup_code,
    }


def test_a_pick_up_order_is_collected_at_the_station_with_its_code(page, live_server):
    arranged = live_server.run(pickup_order)
    order_url = f"/orders/{arranged['order_id']}"
    page.set_viewport_size(PHONE)

    # the buyer has the code on the order page as soon as it is paid
    phone_login(page, arranged["buyer"])
    page.goto(order_url)
    shown = page.get_by_test_id("pickup-code")
    assert arranged["code"] in shown.inner_text() and "施茶村电商服务站" in shown.inner_text()
    fits(page)
    phone_logout(page)

    # the vendor delivers to the station: no courier needed
    phone_login(page, arranged["staff"])
    page.goto(f"/vendor/orders/{arranged['order_id']}")
    page.get_by_test_id("pickup-ship-hint").wait_for()
    page.get_by_test_id("ship-button").click()
    page.get_by_text("已发货").first.wait_for()
    phone_logout(page)

    # the station's staff record the arrival, then hand it over against the code
    phone_login(page, arranged["keeper"])
    page.goto("/station")  # one point: straight to its page
    coming = page.get_by_test_id("coming")
    assert arranged["number"] in coming.inner_text()
    coming.get_by_role("button", name="登记到站").click()
    page.get_by_text("已登记到站").wait_for()
    assert arranged["number"] in page.get_by_test_id("waiting").inner_text()
    fits(page)
    collect = page.get_by_test_id("collect-form")
    collect.get_by_label("取件码").fill("000000" if arranged["code"] != "000000" else "111111")
    collect.get_by_role("button", name="确认取件").click()
    assert arranged["number"] in page.get_by_test_id("waiting").inner_text()  # wrong code
    collect = page.get_by_test_id("collect-form")
    collect.get_by_label("取件码").fill(arranged["code"])
    collect.get_by_role("button", name="确认取件").click()
    page.get_by_text(f"已取件：订单 {arranged['number']}").wait_for()
    assert "暂无待取包裹" in page.get_by_test_id("waiting").inner_text()
    phone_logout(page)

    # the buyer sees it collected
    phone_login(page, arranged["buyer"])
    page.goto(order_url)
    assert page.get_by_test_id("shipment-status").inner_text() == "已收货"
