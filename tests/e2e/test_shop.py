"""Buying online in a real browser: a visitor browses, puts two products of two vendors in
the cart, registers, checks out on a phone (390x844) with one vendor's shipping fee shown
before paying, pays on the local test gateway (测试支付), and sees the order paid, with
the households it helped."""

from __future__ import annotations

from itertools import count

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.shop.models import ShippingRule
from vendors import stock

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, VillageFactory, member_of

pytestmark = pytest.mark.e2e

_ids = count(1)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def arrange() -> dict:
    village = VillageFactory(name="石岭村")
    households = [HouseholdFactory(village=village) for _ in range(3)]
    products, vendors = [], []
    for vendor_name, product_name, price in (
        ("石岭荔枝专业合作社", "妃子笑荔枝", 1250),
        ("红旗镇蜂蜜合作社", "百花蜂蜜", 6800),
    ):
        vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name=vendor_name)
        product = ProductFactory(
            vendor=vendor.memberships[0].org, name=product_name, price=price, unit="斤"
        )
        CertificationFactory(product=product)
        for household in households:
            BenefitLinkFactory(product=product, household=household)
        stock.receive([stock.Goods(product.id, 20)], stock.Ref("e2e"))
        products.append(product.id)
        vendors.append(vendor.email)
    # the lychee cooperative charges 8 yuan, free from 99 yuan; the honey one ships free
    lychee_vendor = db.session.get(Product, products[0]).vendor_id
    db.session.add(ShippingRule(vendor_id=lychee_vendor, flat_fee_fen=800, free_from_fen=9900))
    db.session.commit()
    return {"products": products, "vendors": vendors}


def add_to_cart(page, name: str, quantity: int) -> None:
    page.goto("/products")
    page.get_by_role("link", name=name).first.click()
    form = page.get_by_test_id("add-to-cart")
    form.get_by_label("数量").fill(str(quantity))
    form.get_by_role("button", name="加入购物车").click()
    page.get_by_text("已加入购物车。").wait_for()


def test_visitor_buys_from_two_vendors_with_the_test_gateway(page, live_server, browser_auth):
    arranged = live_server.run(arrange)

    # a visitor browses and fills the cart
    add_to_cart(page, "妃子笑荔枝", 2)
    add_to_cart(page, "百花蜂蜜", 1)
    assert page.get_by_test_id("cart-count").inner_text() == "3"
    page.get_by_test_id("cart-link").click()
    assert page.get_by_test_id("vendor-group").count() == 2
    fees = page.get_by_test_id("group-shipping-fee").all_inner_texts()
    assert fees == ["¥8.00", "包邮"]
    assert page.get_by_test_id("cart-shipping").inner_text() == "¥8.00"
    assert page.get_by_test_id("cart-total").inner_text() == "¥101.00"  # 25 + 68 + 8
    page.screenshot(path=_shot("shop_cart"), full_page=True)

    # checking out asks to log in; the visitor registers instead
    page.get_by_test_id("checkout-button").click()
    page.get_by_role("link", name="注册").last.click()
    form = page.locator("main form")
    buyer_email = f"buyer{next(_ids)}@example.cn"
    form.get_by_label("邮箱").fill(buyer_email)
    form.get_by_label("姓名").fill("李市民")
    form.get_by_label("密码", exact=True).fill("correct horse 9")
    form.get_by_label("确认密码").fill("correct horse 9")
    form.get_by_label("我已阅读并同意").check()
    with live_server.outbox() as mails:
        form.get_by_role("button", name="注册").click()
        page.get_by_text("请查收邮件").first.wait_for()
    page.goto(live_server.link(mails[0], "/register/confirm/"))
    page.locator("main").get_by_role("button", name="完成注册").click()
    page.get_by_test_id("user-menu").wait_for()
    assert page.get_by_test_id("cart-count").inner_text() == "3"  # the cart was kept

    # on a phone: the cart's total and 去结算 stay in reach at the bottom of the screen
    page.set_viewport_size(PHONE)
    page.goto("/cart")
    assert in_view(page, page.get_by_test_id("pay-bar"))
    page.screenshot(path=_shot("shop_cart_phone"), full_page=True)
    page.get_by_test_id("checkout-button").click()

    # checkout with a new address: only the chosen part shows, with the fee
    form = page.get_by_test_id("checkout-form")
    # the page's script shows only the chosen part: wait for it, not a first paint
    expect(form.get_by_test_id("address-section")).to_be_visible()
    expect(form.get_by_test_id("pickup-section")).to_be_hidden()
    assert in_view(page, form.get_by_test_id("place-order"))  # the sticky pay bar
    assert page.get_by_test_id("checkout-shipping").inner_text() == "¥8.00"
    assert page.get_by_test_id("checkout-total").inner_text() == "¥101.00"
    expect(page.locator(".no-js-only")).to_be_hidden()  # the note for pages without js
    form.get_by_label("到服务站自提").check()  # pick-up: no fee, no address form
    expect(form.get_by_test_id("pickup-section")).to_be_visible()
    expect(form.get_by_test_id("address-section")).to_be_hidden()
    assert page.get_by_test_id("checkout-total-pickup").inner_text() == "¥93.00"
    expect(page.get_by_test_id("checkout-total")).to_be_hidden()
    form.get_by_label("快递到家").check()
    form.get_by_label("收货人").fill("李市民")
    form.get_by_label("手机号").fill("13812345678")
    form.get_by_label("区/县").fill("龙华区")
    form.get_by_label("详细地址").fill("滨海大道1号")
    assert page.get_by_test_id("checkout-total").inner_text() == "¥101.00"
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=_shot("shop_checkout"), full_page=True)
    assert height < 1859  # was 1,859 px with both parts shown
    form.get_by_test_id("place-order").click()

    # the clearly marked test gateway
    page.get_by_test_id("test-gateway-banner").wait_for()
    assert page.get_by_test_id("pay-amount").inner_text() == "¥101.00"  # the fee included
    page.screenshot(path=_shot("shop_pay_test"), full_page=True)
    page.get_by_role("button", name="支付成功").click()

    page.get_by_text("付款成功，感谢您参与消费帮扶！").wait_for()
    page.set_viewport_size(DESKTOP)
    assert page.get_by_test_id("order-status").inner_text() == "已付款"
    assert page.get_by_test_id("order-shipping").inner_text() == "¥8.00"
    assert page.get_by_test_id("order-total").inner_text() == "¥101.00"
    assert page.get_by_test_id("shipment").count() == 2
    impact = page.get_by_test_id("order-impact")
    assert "本订单帮扶 3 户建档立卡户，分布在 1 个村" in impact.inner_text()
    assert "石岭村" in impact.inner_text()
    assert page.get_by_test_id("cart-count").inner_text() == "0"
    page.screenshot(path=_shot("shop_order_paid"), full_page=True)

    page.goto("/orders")
    assert page.get_by_test_id("order-row").count() == 1
    assert page.get_by_test_id("order-status").inner_text() == "已付款"

    # each vendor logs in, finds only its own part under 我的店铺 → 订单, and ships it
    browser_auth.logout()
    shipped = [("妃子笑荔枝", "百花蜂蜜", "顺丰速运", "SF1400023851201")]
    shipped.append(("百花蜂蜜", "妃子笑荔枝", "中国邮政 EMS", "EM1125580326CN"))
    for vendor_email, (own, other, carrier, tracking_no) in zip(
        arranged["vendors"], shipped, strict=True
    ):
        ship_as_vendor(page, browser_auth, vendor_email, own, other, carrier, tracking_no)

    # the buyer sees both shipments with their tracking numbers and confirms receipt
    browser_auth.login(buyer_email, "correct horse 9")
    page.goto("/orders")
    page.get_by_test_id("order-row").click()
    statuses = page.get_by_test_id("shipment-status")
    assert statuses.all_inner_texts() == ["已发货", "已发货"]
    tracking = " ".join(page.get_by_test_id("tracking").all_inner_texts())
    assert "SF1400023851201" in tracking and "EM1125580326CN" in tracking
    page.screenshot(path=_shot("shop_order_shipped"), full_page=True)
    page.get_by_test_id("confirm-receipt").click()
    page.get_by_text("已确认收货，感谢您的支持！").wait_for()
    assert page.get_by_test_id("order-status").inner_text() == "已完成"
    assert statuses.all_inner_texts() == ["已收货", "已收货"]
    assert page.get_by_test_id("confirm-receipt").count() == 0


def ship_as_vendor(page, browser_auth, email, own, other, carrier, tracking_no) -> None:
    browser_auth.login(email)
    page.get_by_test_id("shop-menu").click()
    page.get_by_test_id("vendor-orders-link").click()
    rows = page.get_by_test_id("vendor-order-row")
    assert rows.count() == 1
    assert own in rows.inner_text() and other not in rows.inner_text()
    assert rows.get_by_test_id("shipment-status").inner_text() == "待发货"
    rows.get_by_role("link", name="去发货").click()
    assert own in page.get_by_test_id("vendor-lines").inner_text()
    assert other not in page.locator("main").inner_text()
    assert "滨海大道1号" in page.get_by_test_id("delivery").inner_text()
    form = page.get_by_test_id("ship-form")
    form.get_by_label("快递公司").fill(carrier)
    form.get_by_label("运单号").fill(tracking_no)
    page.screenshot(path=_shot(f"shop_vendor_ship_{tracking_no[:2].lower()}"), full_page=True)
    form.get_by_test_id("ship-button").click()
    page.get_by_text("已发货，买家会收到发货通知。").wait_for()
    assert page.get_by_test_id("shipment-status").inner_text() == "已发货"
    assert page.get_by_test_id("tracking").inner_text() == tracking_no
    browser_auth.logout()


def in_view(page, locator) -> bool:
    """The element is on screen without scrolling (inside the viewport's height)."""
    box = locator.bounding_box()
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= page.viewport_size["height"]
    )


def _shot(name: str) -> str:
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
