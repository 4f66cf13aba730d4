"""After-sales per part (issue 13, item 1): the buyer cancels the unshipped part of a
two-vendor order after the other shipped (refunded at once, restocked); asks for a
refund or a return on a shipped part; the vendor accepts or refuses; the bureau
arbitrates a refusal; every refund goes through the one refund path, once, with stock
and attribution reversed exactly, and every step shows on the order's timeline."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import utcnow
from orders.ledger.models import OrderStatus, Refund
from orders.shop import aftersales
from orders.shop.fulfilment import ship_part
from orders.shop.models import AfterSalesStatus, ShipmentStatus
from vendors import stock

from ..factories import UserFactory
from .test_fulfilment import attributed, bureau_staff, part, two_vendor_market


@pytest.fixture
def market():
    return two_vendor_market()


def lines_of(order, vendor_id):
    return {line.id: line.quantity for line in order.lines if line.vendor_id == vendor_id}


def photo() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def test_cancel_the_unshipped_part_after_the_other_shipped(client, auth, market):
    order, a, b = market["order"], market["a"], market["b"]
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    b_part = part(order, b.id)
    auth.login(market["buyer"].email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="cancel-part-form"' in page and 'data-testid="cancel-form"' not in page

    client.post(f"/orders/{order.id}/parts/{b_part.id}/cancel", data={"reason": "不要蜂蜜了"})

    db.session.refresh(order)
    assert part(order, b.id).status == ShipmentStatus.CANCELLED
    assert order.refunded == 2500 and attributed(order, b.id) == 0
    assert attributed(order, a.id) == 2000
    assert stock.available(market["honey"].id) == 10  # back on hand
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "买家取消部分商品" in page
    # the shipped part cannot be cancelled this way; another buyer's id is 404
    with pytest.raises(IllegalTransition):
        aftersales.cancel_unshipped_part(market["buyer"], order.id, part(order, a.id).id, "")
    with pytest.raises(NotFound):
        aftersales.cancel_unshipped_part(UserFactory(), order.id, b_part.id, "")


def test_return_and_refund_accepted_by_the_vendor(client, auth, market):
    order, a, buyer = market["order"], market["a"], market["buyer"]
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    a_part = part(order, a.id)
    apples_line = next(iter(lines_of(order, a.id)))
    auth.login(buyer.email)
    response = client.post(
        f"/orders/{order.id}/parts/{a_part.id}/after-sales",
        data={
            "kind": "return",
            "reason": "苹果有虫眼",
            f"qty-{apples_line}": "1",
            "photos": (photo(), "bad.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    request = db.session.scalar(select(aftersales.AfterSalesRequest))
    assert request.status == AfterSalesStatus.OPEN and len(request.photos) == 1
    from orders.shop.queries import buyer_tab_counts

    assert buyer_tab_counts(buyer)["after_sales"] == 1  # under way, nothing refunded yet
    shown = client.get(f"/after-sales/photo/{request.photos[0]}")
    shown.close()
    assert shown.status_code == 200
    # a second request on the same part while this one is open is refused
    with pytest.raises(IllegalTransition):
        aftersales.request_after_sales(
            buyer, order.id, a_part.id, "refund", "再来", {apples_line: 1}
        )

    auth.logout()
    auth.login(market["staff_a"].email)
    page = client.get(f"/vendor/orders/{order.id}").get_data(as_text=True)
    assert "苹果有虫眼" in page and 'data-testid="accept-form"' in page
    assert (
        client.post(
            f"/vendor/after-sales/{request.id}/accept", data={"return_address": ""}
        ).status_code
        == 302
    )
    assert request.status == AfterSalesStatus.OPEN  # a return needs the address
    client.post(
        f"/vendor/after-sales/{request.id}/accept",
        data={"return_address": "海口市龙华区果园路1号 王经理 13800000001"},
    )
    db.session.refresh(request)
    assert request.status == AfterSalesStatus.ACCEPTED
    # another vendor cannot touch it; a stranger cannot see its photos
    auth.logout()
    auth.login(market["staff_b"].email)
    assert (
        client.post(
            f"/vendor/after-sales/{request.id}/refuse", data={"refuse_reason": "x"}
        ).status_code
        == 404
    )
    auth.logout()
    auth.login(UserFactory().email)
    assert client.get(f"/after-sales/photo/{request.photos[0]}").status_code == 404

    auth.logout()
    auth.login(buyer.email)
    client.post(
        f"/after-sales/{request.id}/return", data={"carrier": "中通快递", "tracking_no": "ZT1"}
    )
    db.session.refresh(request)
    assert request.status == AfterSalesStatus.RETURNED
    on_hand = stock.available(market["apples"].id)

    auth.logout()
    auth.login(market["staff_a"].email)
    client.post(f"/vendor/after-sales/{request.id}/received")
    client.post(f"/vendor/after-sales/{request.id}/received")  # a double click
    db.session.refresh(order)
    db.session.refresh(request)
    assert request.status == AfterSalesStatus.REFUNDED
    assert order.refunded == 1000 and attributed(order, a.id) == 1000
    assert stock.available(market["apples"].id) == on_hand + 1  # the returned bag
    assert db.session.scalar(select(func.count(Refund.id))) == 1

    auth.logout()
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    for step in ("申请售后：退货退款", "商家同意售后", "买家已退货", "退款 ¥10.00"):
        assert step in page, step


def test_refund_only_refused_then_arbitrated_by_the_bureau(client, auth, market):
    order, b, buyer = market["order"], market["b"], market["buyer"]
    ship_part(market["staff_b"], b, order.id, "EMS", "E1")
    b_part = part(order, b.id)
    honey_line = next(iter(lines_of(order, b.id)))
    request = aftersales.request_after_sales(
        buyer, order.id, b_part.id, "refund", "蜂蜜结晶发酸", {honey_line: 1}
    )
    # the vendor still has time: no bureau yet
    with pytest.raises(IllegalTransition):
        aftersales.escalate(buyer, request.id)
    aftersales.refuse(market["staff_b"], b, request.id, "结晶是正常现象")
    aftersales.escalate(buyer, request.id)
    assert request.status == AfterSalesStatus.DISPUTED

    staff = bureau_staff()
    auth.login(staff.email)
    page = client.get("/bureau/after-sales").get_data(as_text=True)
    assert "蜂蜜结晶发酸" in page and "结晶是正常现象" in page
    client.post(
        f"/bureau/after-sales/{request.id}/arbitrate",
        data={"decision": "refund", "note": "已核实照片，支持退款"},
    )
    db.session.refresh(order)
    db.session.refresh(request)
    assert request.status == AfterSalesStatus.REFUNDED
    assert order.refunded == 2500 and attributed(order, b.id) == 0
    assert stock.available(market["honey"].id) == 9  # the goods stayed with the buyer


def test_an_unanswered_request_may_go_to_the_bureau_after_the_response_days(market):
    order, a, buyer = market["order"], market["a"], market["buyer"]
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    apples_line = next(iter(lines_of(order, a.id)))
    request = aftersales.request_after_sales(
        buyer, order.id, part(order, a.id).id, "refund", "坏了", {apples_line: 2}
    )
    later = utcnow() + timedelta(days=aftersales.RESPONSE_DAYS, minutes=1)
    aftersales.escalate(buyer, request.id, now=later)
    assert request.status == AfterSalesStatus.DISPUTED
    staff = bureau_staff()
    aftersales.arbitrate(staff, staff.memberships[0].org, request.id, False, "照片看不出问题")
    assert request.status == AfterSalesStatus.CLOSED and order.refunded == 0


def test_a_request_cannot_ask_more_than_is_left_or_an_unshipped_part(market):
    order, a, buyer = market["order"], market["a"], market["buyer"]
    apples_line = next(iter(lines_of(order, a.id)))
    a_part = part(order, a.id)
    with pytest.raises(IllegalTransition):
        aftersales.request_after_sales(buyer, order.id, a_part.id, "refund", "x", {apples_line: 1})
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    with pytest.raises(ValidationError):
        aftersales.request_after_sales(buyer, order.id, a_part.id, "refund", "x", {apples_line: 3})
    with pytest.raises(ValidationError):
        aftersales.request_after_sales(buyer, order.id, a_part.id, "refund", " ", {apples_line: 1})
    request = aftersales.request_after_sales(
        buyer, order.id, a_part.id, "refund", "坏", {apples_line: 2}
    )
    aftersales.accept(market["staff_a"], a, request.id)
    assert order.refunded == 2000 and order.status == OrderStatus.PAID
    with pytest.raises(IllegalTransition):
        aftersales.accept(market["staff_a"], a, request.id)
    assert order.refunded == 2000
