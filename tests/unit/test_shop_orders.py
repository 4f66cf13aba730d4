"""My orders and the order page: newest first and paginated, status badges, a timeline,
each vendor's shipment and tracking number, whom the order helped (counts and villages,
never a household), cancel before shipping, confirm receipt, expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Role, utcnow
from orders.ledger.models import Attribution, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.fulfilment import ship_part
from orders.shop.models import ShipmentStatus
from orders.shop.payment import complete_payment, start_payment
from vendors import stock

from ..catalog_factories import BenefitLinkFactory, CertificationFactory
from ..factories import HouseholdFactory, MembershipFactory, UserFactory, VillageFactory
from .test_shop_core import address, stocked_product


def paid_order(buyer, *products, token=None):
    order = place_order(
        buyer, {p.id: 1 for p in products}, address(), token=token or f"t-{utcnow().timestamp()}"
    )
    complete_payment("test", start_payment(order).reference)
    return order


def vendor_admin(product):
    return MembershipFactory(org=product.vendor, role=Role.ADMIN).user


def test_my_orders_newest_first_paginated_with_badges(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    product = stocked_product(10)
    buyer = UserFactory()
    old = place_order(buyer, {product.id: 1}, address(), token="a")
    old.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    paid = paid_order(buyer, product, token="b")
    paid.created_at = utcnow() - timedelta(days=1)
    db.session.commit()
    newest = place_order(buyer, {product.id: 1}, address(), token="c")
    auth.login(buyer.email)
    first = client.get("/orders").get_data(as_text=True)
    assert first.index(newest.number) < first.index(paid.number)
    assert old.number not in first
    assert "待付款" in first and "已付款" in first
    second = client.get("/orders?page=2").get_data(as_text=True)
    assert old.number in second and newest.number not in second


def test_order_page_shows_timeline_shipments_and_tracking(client, auth):
    first, second = stocked_product(5), stocked_product(5)
    buyer = UserFactory()
    order = paid_order(buyer, first, second)
    ship_part(vendor_admin(first), first.vendor, order.id, "顺丰速运", "SF1234567890")
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert page.count('data-testid="shipment"') == 2
    assert "SF1234567890" in page and "顺丰速运" in page
    assert "已发货" in page and "待发货" in page
    for event in ("下单", "付款成功", "商家发货"):
        assert event in page
    assert 'data-testid="confirm-receipt"' in page
    assert 'data-testid="cancel-form"' not in page  # a part has shipped


def order_page_for(client, auth, households) -> str:
    """A buyer's page of a paid order of one product linked to ``households``."""
    product = CertificationFactory().product
    for household in households:
        BenefitLinkFactory(product=product, household=household)
    stock.receive([stock.Goods(product.id, 5)], stock.Ref("test"))
    buyer = UserFactory()
    order = paid_order(buyer, product)
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    for household in households:
        assert household.head_name not in page and household.code not in page
    return page


def test_whom_the_order_helped_counts_without_naming_anyone(client, auth):
    named_village, small_village = VillageFactory(), VillageFactory()
    households = [HouseholdFactory(village=named_village) for _ in range(3)]
    households.append(HouseholdFactory(village=small_village))
    page = order_page_for(client, auth, households)
    assert "本订单帮扶 4 户建档立卡户，分布在 2 个村" in page
    assert named_village.full_name in page and small_village.full_name not in page


def test_an_order_helping_two_households_shows_no_count(client, auth):
    village = VillageFactory()
    page = order_page_for(client, auth, [HouseholdFactory(village=village) for _ in range(2)])
    impact = page.split('data-testid="order-impact"', 1)[1].split('<div class="card">', 1)[0]
    assert "本订单帮扶建档立卡户" in impact
    assert "2 户" not in impact and "个村" not in impact and village.full_name not in impact


def test_cancel_before_shipping_refunds_and_reverses(client, auth):
    product = stocked_product(5, price=3000)
    buyer = UserFactory()
    order = paid_order(buyer, product)
    auth.login(buyer.email)
    response = client.post(f"/orders/{order.id}/cancel", data={"reason": "买错了"})
    assert "款项将按原支付方式退回" in client.get(response.location).get_data(as_text=True)
    db.session.expire_all()
    assert order.refunded == 3000 and stock.available(product.id) == 5
    total = db.session.scalar(
        select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
    )
    assert total == 0
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "已退款" in page and "买错了" in page


def test_an_unpaid_order_can_be_cancelled_and_its_stock_released(client, auth):
    product = stocked_product(5)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 2}, address(), token="unpaid")
    auth.login(buyer.email)
    client.post(f"/orders/{order.id}/cancel", data={})
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and stock.available(product.id) == 5
    assert "已取消" in client.get("/orders").get_data(as_text=True)


def test_confirm_receipt_completes_the_order(client, auth):
    product = stocked_product(5)
    buyer = UserFactory()
    order = paid_order(buyer, product)
    ship_part(vendor_admin(product), product.vendor, order.id, "EMS", "EM0001")
    auth.login(buyer.email)
    client.post(f"/orders/{order.id}/receive")
    db.session.expire_all()
    assert order.status == OrderStatus.COMPLETED
    assert order.shipments[0].status == ShipmentStatus.RECEIVED
    assert "已完成" in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_expire_command_releases_reservations(runner):
    product = stocked_product(3)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 3}, address(), token="late")
    assert stock.available(product.id) == 0
    result = runner.invoke(args=["orders", "expire"])
    assert result.exit_code == 0 and "expired 0" in result.output
    order.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["orders", "expire"])
    assert result.exit_code == 0 and "expired 1" in result.output
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and stock.available(product.id) == 3


def test_an_expired_order_is_expired_when_the_buyer_opens_it(client, auth):
    product = stocked_product(2)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 2}, address(), token="lazy")
    order.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    auth.login(buyer.email)
    page = client.get("/orders").get_data(as_text=True)
    assert "已取消" in page
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and stock.available(product.id) == 2
    response = client.get(f"/orders/{order.id}/pay")
    assert response.status_code == 302
    assert "不能付款" in client.get(response.location).get_data(as_text=True)
