"""Races through the real HTTP routes under gunicorn (issue 9, "Fix first" 1-2): a
payment confirmation replayed ten times at once, a buyer cancelling while the vendor
ships, two cancellations of the same part at once. Each request runs in a worker
process that loaded the order before it acted, as in production; exactly one request
may change the order, and every other one is answered like a repeat (a redirect to the
order with a clear message), never a 500."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.ledger.models import Attribution, Order, OrderStatus, Refund
from orders.shop.checkout import place_order
from orders.shop.models import Payment, Shipment, ShipmentStatus, ShippingRule
from vendors.models import MovementKind, StockMovement

from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import UserFactory
from ..race import assert_ledger_matches_levels
from ..stock_helpers import warehouse_level
from ..unit.test_fulfilment import paid_order, staff_of
from ..unit.test_shop_core import address, stocked_product
from .live_server import Browser, LiveServer, concurrently, value

pytestmark = [requires_postgres, pytest.mark.postgres]


def logged_in(server: LiveServer, user) -> Browser:
    return server.browser().login(user.email, TEST_PASSWORD)


def assert_no_server_errors(server: LiveServer, responses) -> None:
    codes = [r.status_code for r in responses]
    assert all(code < 500 for code in codes), f"{codes}\n{server.log()[-6000:]}"


def sales_of(order: Order) -> int:
    return db.session.scalar(
        select(func.count(StockMovement.id)).where(
            StockMovement.kind == MovementKind.SALE,
            StockMovement.ref_type == "order",
            StockMovement.ref_id == order.number,
        )
    )


def audits(order: Order, action: str) -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == action,
            AuditEntry.object_type == "orders",
            AuditEntry.object_id == str(order.id),
        )
    )


def attributed(order: Order) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Attribution.amount), 0)).where(
            Attribution.order_id == order.id
        )
    )


def on_hand_reserved(product) -> tuple[int, int]:
    db.session.expire_all()
    level = warehouse_level(product.id)
    return level.on_hand, level.reserved


def pay_through_the_page(browser: Browser, order: Order) -> dict:
    """Start the payment (the 去支付 button's POST), then read the test gateway's form."""
    page = browser.post(f"/orders/{order.id}/pay", allow_redirects=True).text
    return {"token": value(page, "token"), "outcome": "success"}


def test_the_live_server_checks_csrf_as_in_production(live_server):
    buyer = UserFactory()
    browser = logged_in(live_server, buyer)
    assert browser.get("/orders").status_code == 200
    forged = browser.clone()
    forged.csrf = "not-the-token"
    assert forged.post("/cart/add", {"product_id": 1, "quantity": 1}).status_code == 400
    visitor = live_server.browser()
    assert visitor.get("/orders", allow_redirects=False).status_code == 302


# ---------------------------------------------------------------- item 1


def test_ten_identical_payment_confirmations_at_once_sell_the_order_once(live_server):
    product = stocked_product(2, price=1999)
    buyer, neighbour = UserFactory(), UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="race-pay-1")
    theirs = place_order(neighbour, {product.id: 1}, address(), token="race-pay-2")
    browser = logged_in(live_server, buyer)
    form = pay_through_the_page(browser, order)
    tabs = [browser.clone() for _ in range(10)]
    path = f"/orders/{order.id}/pay/test"

    responses = concurrently([partial(tab.post, path, form) for tab in tabs])

    assert_no_server_errors(live_server, responses)
    assert {r.status_code for r in responses} == {302}
    assert {r.headers["Location"] for r in responses} == {f"/orders/{order.id}"}
    for tab, response in zip(tabs, responses, strict=True):
        assert ("success", "付款成功，感谢您参与消费帮扶！") in tab.flashes(response)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PAID
    assert sales_of(order) == 1
    assert audits(order, "order.paid") == 1
    assert attributed(order) == order.total
    # the neighbour's reservation is still theirs, and they can pay for it
    assert on_hand_reserved(product) == (1, 1)
    other = logged_in(live_server, neighbour)
    paid = other.post(f"/orders/{theirs.id}/pay/test", pay_through_the_page(other, theirs))
    assert paid.status_code == 302
    assert ("success", "付款成功，感谢您参与消费帮扶！") in other.flashes(paid)
    db.session.expire_all()
    assert db.session.get(Order, theirs.id).status == OrderStatus.PAID
    assert sales_of(theirs) == 1 and attributed(theirs) == theirs.total
    assert on_hand_reserved(product) == (0, 0)
    assert_ledger_matches_levels()


# ---------------------------------------------------------------- item 2

ROUNDS = 6


def test_a_buyer_cancelling_while_the_vendor_ships_one_of_them_wins(live_server):
    product = stocked_product(ROUNDS, price=1500)
    buyer = UserFactory()
    buyer_browser = logged_in(live_server, buyer)
    vendor_browser = logged_in(live_server, staff_of(product.vendor))
    winners = []
    for n in range(ROUNDS):
        order = paid_order(buyer, {product: 1}, f"race-ship-{n}")
        cancel_tab, ship_tab = buyer_browser.clone(), vendor_browser.clone()

        cancelled, shipped = concurrently(
            [
                partial(cancel_tab.post, f"/orders/{order.id}/cancel", {"reason": "不要了"}),
                partial(
                    ship_tab.post,
                    f"/vendor/orders/{order.id}/ship",
                    {"carrier": "顺丰速运", "tracking_no": f"SF{n:04d}"},
                ),
            ]
        )

        assert_no_server_errors(live_server, [cancelled, shipped])
        assert (cancelled.status_code, shipped.status_code) == (302, 302)
        db.session.expire_all()
        order = db.session.get(Order, order.id)
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        refunds = db.session.scalar(
            select(func.count(Refund.id)).where(Refund.order_id == order.id)
        )
        buyer_saw = cancel_tab.flashes(cancelled)
        vendor_saw = ship_tab.flashes(shipped)
        if shipment.status == ShipmentStatus.SHIPPED:
            winners.append("ship")
            assert order.refunded == 0 and refunds == 0
            assert attributed(order) == order.total
            assert ("success", "已发货，买家会收到发货通知。") in vendor_saw
            assert [c for c, _m in buyer_saw] == ["danger"], buyer_saw
        else:
            winners.append("cancel")
            assert shipment.status == ShipmentStatus.CANCELLED
            assert order.refunded == order.total and refunds == 1
            assert attributed(order) == 0
            assert ("success", "订单已取消，款项将按原支付方式退回。") in buyer_saw
            assert vendor_saw == [("warning", "该包裹当前状态不能发货")], vendor_saw
    # every unit either left with a shipment or came back on hand, never both
    assert on_hand_reserved(product) == (winners.count("cancel"), 0)
    assert_ledger_matches_levels()


def test_two_cancellations_of_the_same_part_at_once_refund_it_once(live_server):
    """... with its shipping fee, given back once with the goods."""
    product = stocked_product(6, price=800)
    db.session.add(ShippingRule(vendor_id=product.vendor_id, flat_fee_fen=500))
    db.session.commit()
    buyer = UserFactory()
    buyer_browser = logged_in(live_server, buyer)
    vendor_browser = logged_in(live_server, staff_of(product.vendor))

    def buyer_cancels(order):
        tab = buyer_browser.clone()
        return tab, partial(tab.post, f"/orders/{order.id}/cancel", {"reason": "不要了"})

    def vendor_cancels(order):
        tab = vendor_browser.clone()
        return tab, partial(tab.post, f"/vendor/orders/{order.id}/cancel", {"reason": "缺货"})

    pairs = [
        (vendor_cancels, vendor_cancels),  # a double click on the vendor's page
        (buyer_cancels, buyer_cancels),  # a double click on the buyer's page
        (buyer_cancels, vendor_cancels),  # both sides at once
    ]
    for n, (first, second) in enumerate(pairs):
        order = paid_order(buyer, {product: 2}, f"race-cancel-{n}")
        (tab_a, call_a), (tab_b, call_b) = first(order), second(order)

        responses = concurrently([call_a, call_b])

        assert_no_server_errors(live_server, responses)
        assert [r.status_code for r in responses] == [302, 302], (n, live_server.log()[-3000:])
        seen = [tab_a.flashes(responses[0]), tab_b.flashes(responses[1])]
        assert sorted(c for messages in seen for c, _m in messages) in (
            ["success", "warning"],
            ["danger", "success"],
        ), seen
        db.session.expire_all()
        order = db.session.get(Order, order.id)
        refunds = list(db.session.scalars(select(Refund).where(Refund.order_id == order.id)))
        assert [r.amount for r in refunds] == [order.total + 500] == [order.amount_due]
        assert [r.shipping_fen for r in refunds] == [500] == [order.shipping_refunded_fen]
        assert order.refunded == order.total and attributed(order) == 0
        assert on_hand_reserved(product) == (6, 0)
    assert_ledger_matches_levels()


def test_the_pay_button_pressed_in_four_tabs_at_once_starts_one_attempt(live_server):
    product = stocked_product(2)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="race-start-1")
    browser = logged_in(live_server, buyer)
    tabs = [browser.clone() for _ in range(4)]

    pages = concurrently(
        [partial(tab.post, f"/orders/{order.id}/pay", allow_redirects=True) for tab in tabs]
    )

    assert_no_server_errors(live_server, pages)
    assert {value(page.text, "token") for page in pages} and all(
        page.status_code == 200 for page in pages
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Payment.id))) == 1
