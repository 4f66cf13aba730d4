"""Shipping fees (运费/包邮, issue 13 item 4): each vendor's rule (flat fee, free from an
amount, no fresh goods to some provinces), fees shown per vendor in the cart and at
checkout, paid with the goods, given back with a whole part's refund only, and never
counted as sales: not in the attribution, not in ``report summary``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.accounts.services import save_address
from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.ledger.models import Attribution, Order, OrderStatus, Refund
from orders.reports.exports import channels_table
from orders.reports.shipping import online_shipping
from orders.reports.summary import summary
from orders.shop import gateways, shipping
from orders.shop.cart import set_cart_quantity
from orders.shop.checkout import Delivery, place_order
from orders.shop.fulfilment import after_sales_refund, cancel_by_buyer, cancel_part
from orders.shop.models import DeliveryMethod, PickupKind, PickupPoint, ShippingRule
from orders.shop.payment import complete_payment, start_payment

from ..factories import UserFactory
from .test_fulfilment import bureau_staff, paid_order, part, staff_of
from .test_shop_checkout import NEW_ADDRESS, token_of
from .test_shop_core import address, stocked_product

# ---------------------------------------------------------------- the rule itself


def test_a_flat_fee_is_charged_on_any_amount_without_a_free_shipping_amount():
    rule = shipping.Rule(flat_fee_fen=800)
    assert rule.fee(1) == 800
    assert rule.fee(10_000_000) == 800


def test_free_shipping_from_exactly_the_amount_and_not_one_fen_below():
    rule = shipping.Rule(flat_fee_fen=1000, free_from_fen=9900)
    assert rule.fee(9900) == 0  # exactly the amount ships free
    assert rule.fee(9899) == 1000  # one fen below pays
    assert rule.fee(9901) == 0


def test_pick_up_pays_no_shipping_and_no_rule_ships_free():
    rule = shipping.Rule(flat_fee_fen=1000, free_from_fen=9900)
    assert rule.fee(100, DeliveryMethod.PICKUP) == 0
    assert shipping.Rule().fee(100) == 0


def test_excluded_provinces_match_with_or_without_their_ending():
    rule = shipping.Rule(no_fresh_provinces=("西藏", "新疆维吾尔自治区"))
    assert rule.refuses_fresh_to("西藏自治区")
    assert rule.refuses_fresh_to("新疆")
    assert not rule.refuses_fresh_to("海南省")
    assert not rule.refuses_fresh_to("")
    assert shipping.parse_provinces("西藏、新疆维吾尔自治区，西藏自治区\n青海省") == [
        "西藏",
        "新疆维吾尔自治区",
        "青海省",
    ]


def set_rule(vendor, flat=0, free_from=None, provinces=()):
    db.session.add(
        ShippingRule(
            vendor_id=vendor.id,
            flat_fee_fen=flat,
            free_from_fen=free_from,
            no_fresh_provinces=list(provinces),
        )
    )
    db.session.commit()


def fresh(product):
    product.is_fresh = True
    db.session.commit()
    return product


def to(province: str) -> Delivery:
    return Delivery(
        "address", "李市民", "13800000000", f"{province}某市某区某路1号", province=province
    )


def test_an_excluded_area_blocks_fresh_goods_only_and_pick_up_is_allowed():
    lychee = fresh(stocked_product(10, price=1000))
    rice = stocked_product(10, price=1000)
    set_rule(lychee.vendor, 500, provinces=["西藏自治区"])
    set_rule(rice.vendor, 500, provinces=["西藏自治区"])
    buyer = UserFactory()

    with pytest.raises(ValidationError) as refused:
        place_order(buyer, {lychee.id: 1}, to("西藏"), "t-fresh")
    assert lychee.name in refused.value.message and "生鲜" in refused.value.message
    assert "自提" in refused.value.message
    assert db.session.scalar(select(func.count(Order.id))) == 0  # nothing reserved

    # the same vendor's non-fresh goods, and fresh goods to another province, go
    order = place_order(buyer, {rice.id: 1}, to("西藏"), "t-rice")
    assert order.shipping_fen == 500
    assert place_order(buyer, {lychee.id: 1}, to("海南省"), "t-hainan").shipping_fen == 500
    # fresh goods collected at a station: allowed, and no shipping
    point = PickupPoint(
        name="石岭村服务站", kind=PickupKind.VILLAGE_STATION, district="琼山区",
        town="红旗镇", address="村委会旁", active=True,
    )  # fmt: skip
    db.session.add(point)
    db.session.commit()
    pickup = Delivery("pickup", "李市民", "13800000000", pickup_point_id=point.id)
    collected = place_order(buyer, {lychee.id: 1}, pickup, "t-pickup")
    assert collected.shipping_fen == 0 and all(s.shipping_fen == 0 for s in collected.shipments)


def test_a_vendors_rule_is_set_on_its_page_with_an_audit_row(client, auth):
    product = stocked_product(5)
    staff = staff_of(product.vendor)
    auth.login(staff.email)
    page = client.get("/vendor/shipping").get_data(as_text=True)
    assert "运费设置" in page and 'value="0.00"' in page
    response = client.post(
        "/vendor/shipping",
        data={"flat_fee": "8", "free_from": "99.00", "no_fresh_provinces": "西藏、新疆"},
    )
    assert response.status_code == 302
    rule = db.session.scalar(
        select(ShippingRule).where(ShippingRule.vendor_id == product.vendor_id)
    )
    assert (rule.flat_fee_fen, rule.free_from_fen, rule.no_fresh_provinces) == (
        800,
        9900,
        ["西藏", "新疆"],
    )
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "shipping.rule"))
    bad = client.post("/vendor/shipping", data={"flat_fee": "-3", "free_from": ""})
    assert bad.status_code == 200 and "金额不能为负数" in bad.get_data(as_text=True)


# ---------------------------------------------------------------- cart and checkout


def test_the_cart_and_checkout_show_each_vendors_fee_before_payment(client, auth):
    apples = stocked_product(10, price=1000)  # charges 8 yuan below 99
    honey = stocked_product(10, price=5000)  # free from 99 yuan
    set_rule(apples.vendor, 800, free_from=9900)
    set_rule(honey.vendor, 1200, free_from=9900)
    buyer = UserFactory()
    set_cart_quantity(buyer, apples.id, 2)
    set_cart_quantity(buyer, honey.id, 2)
    auth.login(buyer.email)

    cart = client.get("/cart").get_data(as_text=True)
    assert cart.count('data-testid="group-shipping-fee"') == 2
    assert 'data-testid="group-shipping-fee">¥8.00<' in cart
    assert "再买 ¥79.00 包邮" in cart  # 99 - 20
    assert 'data-testid="group-shipping-fee">包邮<' in cart  # honey: 100 >= 99
    assert 'data-testid="cart-shipping">¥8.00<' in cart
    assert 'data-testid="cart-total">¥128.00<' in cart  # 20 + 100 + 8

    page = client.get("/checkout").get_data(as_text=True)
    assert 'data-testid="checkout-shipping">¥8.00<' in page
    assert 'data-testid="checkout-total">¥128.00<' in page
    assert 'data-testid="checkout-total-pickup">¥120.00<' in page  # pick-up: no fee
    assert "js/checkout.js" in page and "<script>" not in page  # CSP: no inline script

    response = client.post("/checkout", data={**NEW_ADDRESS, "token": token_of(page)})
    order = db.session.scalar(select(Order))
    assert response.location.endswith(f"/orders/{order.id}/pay")
    assert (order.total, order.shipping_fen, order.amount_due) == (12000, 800, 12800)
    assert sorted(s.shipping_fen for s in order.shipments) == [0, 800]
    pay = client.get(f"/orders/{order.id}/pay").get_data(as_text=True)
    assert 'data-testid="pay-amount">¥128.00<' in pay


def test_checkout_tells_the_buyer_when_fresh_goods_cannot_go_to_the_address(client, auth):
    lychee = fresh(stocked_product(10, price=1000))
    set_rule(lychee.vendor, 0, provinces=["海南省"])
    buyer = UserFactory()
    set_cart_quantity(buyer, lychee.id, 1)
    auth.login(buyer.email)
    page = client.get("/checkout").get_data(as_text=True)
    assert 'data-testid="fresh-note"' in page and "海南省" in page
    response = client.post("/checkout", data={**NEW_ADDRESS, "token": token_of(page)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "为生鲜商品，商家不向海南省配送生鲜" in text
    assert db.session.scalar(select(func.count(Order.id))) == 0


# ---------------------------------------------------------------- payment and refunds


@pytest.fixture
def charged():
    """A paid order of two vendors' parts, each with a fee: apples 2 x 10 yuan + 6 yuan
    shipping, honey 1 x 25 yuan + 8 yuan shipping."""
    apples = stocked_product(10, price=1000)
    honey = stocked_product(10, price=2500)
    set_rule(apples.vendor, 600, free_from=10000)
    set_rule(honey.vendor, 800)
    buyer = UserFactory()
    order = paid_order(buyer, {apples: 2, honey: 1}, "t-charged")
    return {"apples": apples, "honey": honey, "buyer": buyer, "order": order}


def test_the_payment_amount_includes_the_fees(app):
    apples = stocked_product(10, price=1000)
    set_rule(apples.vendor, 600)
    order = place_order(UserFactory(), {apples.id: 2}, address(), "t-pay")
    payment = start_payment(order)
    assert payment.amount == order.amount_due == 2000 + 600
    token = gateways.TestGateway(app.config).token(order, payment.reference)
    assert gateways.TestGateway(app.config).verify(token)["amount"] == 2600
    assert complete_payment("test", payment.reference).status == "paid"
    db.session.refresh(order)
    assert order.status == OrderStatus.PAID and order.total == 2000  # the goods only


def test_fees_are_not_attributed_to_households_nor_in_the_summary(charged):
    order = charged["order"]
    assert (order.total, order.shipping_fen) == (4500, 1400)
    attributed = db.session.scalar(
        select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
    )
    assert attributed == 4500  # the product lines only
    figures = summary(order.sale_date, order.sale_date)
    contract = figures.to_json()
    assert contract["channels"]["online"]["amount"] == "45.00"
    assert contract["total_amount"] == "45.00"
    assert contract["attributed_amount"] == "45.00"
    assert "shipping" not in str(contract)  # the fixed contract has no new key
    # the bureau's report shows shipping as a figure of its own
    assert online_shipping(order.sale_date, order.sale_date) == 1400
    table = channels_table(figures, 1400)
    online = next(row for row in table.rows if row["channel"] == "线上商城")
    assert (online["amount"], online["shipping"]) == (4500, 1400)
    assert table.total["amount"] == 4500 and table.total["shipping"] == 1400


def test_cancelling_a_whole_unshipped_order_refunds_its_fees(charged):
    order = charged["order"]
    cancel_by_buyer(charged["buyer"], order.id, "不要了")
    db.session.refresh(order)
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert refund.amount == 4500 + 1400 and refund.shipping_fen == 1400
    assert order.refunded == 4500 and order.shipping_refunded_fen == 1400
    assert order.refunded_due == order.amount_due
    assert all(s.shipping_refund_id == refund.id for s in order.shipments)
    assert online_shipping(order.sale_date, order.sale_date) == 0
    # attribution is reversed for the goods only, to zero
    assert (
        db.session.scalar(
            select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
        )
        == 0
    )


def test_a_vendor_cancelling_its_part_refunds_that_parts_fee_only(charged):
    order, honey = charged["order"], charged["honey"]
    cancel_part(staff_of(honey.vendor), honey.vendor, order.id, "缺货")
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert refund.amount == 2500 + 800 and refund.shipping_fen == 800
    db.session.refresh(order)
    assert order.shipping_refunded_fen == 800
    assert part(order, honey.vendor_id).shipping_refund_id == refund.id
    assert part(order, charged["apples"].vendor_id).shipping_refund_id is None


def test_a_partial_refund_keeps_the_fee_until_the_whole_part_is_refunded(charged):
    order, apples = charged["order"], charged["apples"]
    bureau = bureau_staff()
    line = next(line for line in order.lines if line.product_id == apples.id)
    org = bureau.memberships[0].org
    after_sales_refund(bureau, org, order.id, {line.id: 1}, "一箱压坏", token="t1")
    first = db.session.scalar(select(Refund).where(Refund.order_id == order.id))
    assert first.amount == 1000 and first.shipping_fen == 0  # some goods: no fee back
    after_sales_refund(bureau, org, order.id, {line.id: 1}, "另一箱也坏了", token="t2")
    second = db.session.scalars(
        select(Refund).where(Refund.order_id == order.id).order_by(Refund.id.desc())
    ).first()
    assert second.amount == 1000 + 600 and second.shipping_fen == 600  # the whole part
    db.session.refresh(order)
    assert order.shipping_refunded_fen == 600 and order.refunded == 2000
    # a fee is never given back twice
    with pytest.raises(ValidationError):
        after_sales_refund(bureau, org, order.id, {line.id: 1}, "再退一次", token="t3")
    db.session.refresh(order)
    assert order.shipping_refunded_fen == 600


def test_the_bureaus_report_page_and_exports_show_shipping_apart(client, auth, charged):
    order = charged["order"]
    day = order.sale_date.isoformat()
    auth.login(bureau_staff().email)
    page = client.get(f"/bureau/reports?from={day}&to={day}").get_data(as_text=True)
    assert 'data-testid="online-shipping"' in page and "14.00 元" in page
    assert 'data-figure="total_amount">45.00<' in page  # the sales: goods only
    channels = client.get(f"/bureau/reports/export/channels.csv?from={day}&to={day}")
    text = channels.data.decode("utf-8-sig")
    assert "运费（元，另计）" in text and "线上商城,1,45.00,14.00" in text
    monthly = client.get(f"/bureau/reports/export/monthly.csv?from={day}&to={day}")
    row = next(
        line for line in monthly.data.decode("utf-8-sig").splitlines() if line.startswith("20")
    )
    assert row.endswith(",45.00,14.00")  # the sales total, then the fees apart


def test_a_saved_address_in_an_excluded_province_is_refused_for_fresh_goods(client, auth):
    lychee = fresh(stocked_product(10, price=1000))
    set_rule(lychee.vendor, 0, provinces=["西藏"])
    buyer = UserFactory()
    address_row = save_address(
        buyer,
        {
            "recipient": "次仁",
            "phone": "13800000001",
            "province": "西藏自治区",
            "city": "拉萨市",
            "district": "城关区",
            "detail": "北京中路1号",
        },
    )
    set_cart_quantity(buyer, lychee.id, 1)
    auth.login(buyer.email)
    page = client.get("/checkout").get_data(as_text=True)
    data = {"delivery_method": "address", "address_id": address_row.id, "token": token_of(page)}
    response = client.post("/checkout", data=data)
    assert response.status_code == 200
    assert "商家不向西藏自治区配送生鲜" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Order.id))) == 0
