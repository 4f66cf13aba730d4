"""Guarded state changes (issue 9): a request that loaded an order (or a part of it)
before another request changed it must not act on its stale copy. Each test loads the
object into this test's session, lets "another request" (a fresh app context: its own
session and connection) change it and commit, then calls the service here, whose
identity map still holds the old status. Runs on SQLite, where row locks do nothing, so
only the conditional updates stand between the two requests; on PostgreSQL too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import IllegalTransition
from marketplace.extensions import db
from marketplace.models import AuditEntry, Organization, User, utcnow
from orders.ledger import services as ledger
from orders.ledger.models import Order, OrderStatus, Refund, RefundStatus
from orders.shop.checkout import place_order
from orders.shop.expiry import expire_if_due, expire_orders
from orders.shop.fulfilment import (
    after_sales_refund,
    cancel_by_buyer,
    cancel_part,
    confirm_receipt,
    ship_part,
)
from orders.shop.models import Shipment, ShipmentStatus
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.models import MovementKind, StockMovement
from vendors.stock import Goods, NotReserved, Ref

from ..factories import UserFactory
from ..stock_helpers import warehouse_level
from .test_fulfilment import bureau_staff, paid_order, staff_of
from .test_shop_core import address, attributed, stocked_product


def elsewhere(app, action, *ids):
    """Run ``action`` as another request would: its own app context, session and
    connection; ``ids`` are (model, id) pairs it is given freshly loaded."""
    with app.app_context():
        try:
            return action(*(db.session.get(model, row_id) for model, row_id in ids))
        finally:
            db.session.remove()


def movements(order: Order, kind: str) -> int:
    return db.session.scalar(
        select(func.count(StockMovement.id)).where(
            StockMovement.kind == kind,
            StockMovement.ref_type == "order",
            StockMovement.ref_id == order.number,
        )
    )


def audits(order: Order, action: str) -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == action, AuditEntry.object_id == str(order.id)
        )
    )


def on_hand_reserved(product) -> tuple[int, int]:
    level = warehouse_level(product.id)
    db.session.refresh(level)
    return level.on_hand, level.reserved


def stale(model, row_id):
    """Load the row into this session now (another request will change it after). The
    identity map holds it only while the test does: keep a reference."""
    obj = db.session.get(model, row_id)
    assert obj is not None
    return obj


# ---------------------------------------------------------------- payment (item 1)


def test_a_confirmation_holding_a_stale_order_does_not_sell_it_again(app):
    product = stocked_product(2, price=1999)
    buyer, neighbour = UserFactory(), UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="g-1")
    place_order(neighbour, {product.id: 1}, address(), token="g-2")
    reference = start_payment(order).reference
    assert stale(Order, order.id).status == OrderStatus.PENDING_PAYMENT

    first = elsewhere(app, lambda: complete_payment("test", reference).status)
    second = complete_payment("test", reference)

    assert (first, second.status) == ("paid", "already_paid")
    db.session.expire_all()
    assert movements(order, MovementKind.SALE) == 1
    assert audits(order, "order.paid") == 1
    assert attributed(order) == order.total
    assert on_hand_reserved(product) == (1, 1)  # the neighbour's reservation is intact


def test_paying_an_order_paid_meanwhile_is_refused_by_the_ledger(app):
    product = stocked_product(2)
    order = place_order(UserFactory(), {product.id: 1}, address(), token="g-3")
    assert stale(Order, order.id).status == OrderStatus.PENDING_PAYMENT

    elsewhere(app, lambda o: ledger.mark_paid(o, actor="first"), (Order, order.id))
    with pytest.raises(IllegalTransition):
        ledger.mark_paid(order, actor="second")

    db.session.expire_all()
    assert audits(order, "order.paid") == 1 and attributed(order) == order.total


def test_a_late_confirmation_holding_a_stale_order_reserves_its_stock_again(app):
    product = stocked_product(2)
    buyer, neighbour = UserFactory(), UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="g-4")
    place_order(neighbour, {product.id: 1}, address(), token="g-5")
    reference = start_payment(order).reference
    assert stale(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    later = utcnow() + timedelta(minutes=31)

    elsewhere(app, lambda o: expire_if_due(o, later), (Order, order.id))
    outcome = complete_payment("test", reference)

    assert outcome.status == "paid"
    db.session.expire_all()
    assert movements(order, MovementKind.RESERVATION) == 2  # at checkout, and again now
    assert movements(order, MovementKind.SALE) == 1
    assert on_hand_reserved(product) == (1, 1)  # the neighbour's unit is still theirs
    assert [s.status for s in order.shipments] == [ShipmentStatus.PENDING]  # to be shipped


def test_a_late_payment_confirmed_twice_is_refunded_once(app):
    product = stocked_product(1)
    late, early = UserFactory(), UserFactory()
    order = place_order(late, {product.id: 1}, address(), token="g-6")
    reference = start_payment(order).reference
    expire_orders(utcnow() + timedelta(minutes=31))
    other = place_order(early, {product.id: 1}, address(), token="g-7")
    complete_payment("test", start_payment(other).reference)
    assert stale(Order, order.id).status == OrderStatus.CANCELLED

    first = elsewhere(app, lambda: complete_payment("test", reference).status)
    # stock came back meanwhile: the payment stays refunded
    restocked = stock.receive([Goods(product.id, 1)], Ref("test"))
    assert restocked is not None
    second = complete_payment("test", reference)

    assert (first, second.status) == ("refunded", "refunded")
    refunds = list(db.session.scalars(select(Refund).where(Refund.order_id == order.id)))
    assert [(r.amount, r.status) for r in refunds] == [(order.total, RefundStatus.SUCCEEDED)]
    assert refunds[0].gateway_ref.startswith("test_refund_")
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and attributed(order) == 0
    assert audits(order, "order.late_payment_refunded") == 1


def test_an_expiry_holding_a_stale_order_that_was_paid_meanwhile_changes_nothing(app):
    product = stocked_product(1)
    order = place_order(UserFactory(), {product.id: 1}, address(), token="g-8")
    reference = start_payment(order).reference
    stale_order = stale(Order, order.id)

    elsewhere(app, lambda: complete_payment("test", reference))
    assert expire_if_due(stale_order, utcnow() + timedelta(minutes=31)) is False

    db.session.expire_all()
    assert order.status == OrderStatus.PAID
    assert movements(order, MovementKind.RELEASE) == 0
    assert on_hand_reserved(product) == (0, 0)


def test_cancelling_an_unpaid_order_cancelled_meanwhile_is_a_clear_repeat(app):
    product = stocked_product(2)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="g-9")
    assert stale(Order, order.id).status == OrderStatus.PENDING_PAYMENT

    elsewhere(app, lambda b: cancel_by_buyer(b, order.id, "不要了"), (User, buyer.id))
    with pytest.raises(IllegalTransition, match="订单已取消，无需重复操作"):
        cancel_by_buyer(buyer, order.id, "不要了")

    db.session.expire_all()
    assert movements(order, MovementKind.RELEASE) == 1
    assert on_hand_reserved(product) == (2, 0)


def test_cancelling_an_order_paid_meanwhile_refunds_it(app):
    product = stocked_product(2)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="g-10")
    reference = start_payment(order).reference
    assert stale(Order, order.id).status == OrderStatus.PENDING_PAYMENT

    elsewhere(app, lambda: complete_payment("test", reference))
    cancel_by_buyer(buyer, order.id, "不要了")

    db.session.expire_all()
    assert order.status == OrderStatus.PAID and order.refunded == order.total
    assert movements(order, MovementKind.RELEASE) == 0
    assert on_hand_reserved(product) == (2, 0)  # sold, then restocked


# ---------------------------------------------------------------- shipping and cancelling


@pytest.fixture
def sold(app):
    """A paid order of two units from one vendor, and that vendor's staff."""
    product = stocked_product(5, price=1000)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 2}, "g-sold")
    return {
        "product": product,
        "buyer": buyer,
        "order": order,
        "staff": staff_of(product.vendor),
        "vendor": product.vendor,
    }


def part_of(order: Order) -> Shipment:
    return db.session.scalar(
        select(Shipment)
        .where(Shipment.order_id == order.id)
        .execution_options(populate_existing=True)
    )


def refunds_of(order: Order) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.order_id == order.id)))


def test_shipping_a_part_the_buyer_cancelled_meanwhile_is_refused(app, sold):
    order, vendor = sold["order"], sold["vendor"]
    shipment = stale(Shipment, part_of(order).id)
    assert shipment.status == ShipmentStatus.PENDING

    elsewhere(
        app,
        lambda buyer: cancel_by_buyer(buyer, order.id, "不要了"),
        (User, sold["buyer"].id),
    )
    with pytest.raises(IllegalTransition, match="该包裹当前状态不能发货"):
        ship_part(sold["staff"], vendor, order.id, "顺丰速运", "SF1")

    db.session.expire_all()
    assert part_of(order).status == ShipmentStatus.CANCELLED
    assert order.refunded == order.total and len(refunds_of(order)) == 1
    assert on_hand_reserved(sold["product"]) == (5, 0)


def test_cancelling_an_order_the_vendor_shipped_meanwhile_is_refused(app, sold):
    order = sold["order"]
    assert stale(Order, order.id).shipments[0].status == ShipmentStatus.PENDING

    elsewhere(
        app,
        lambda staff, org: ship_part(staff, org, order.id, "顺丰速运", "SF1"),
        (User, sold["staff"].id),
        (Organization, sold["vendor"].id),
    )
    with pytest.raises(IllegalTransition, match="已有商品发货"):
        cancel_by_buyer(sold["buyer"], order.id, "不要了")

    db.session.expire_all()
    assert part_of(order).status == ShipmentStatus.SHIPPED
    assert order.refunded == 0 and refunds_of(order) == []
    assert attributed(order) == order.total
    assert on_hand_reserved(sold["product"]) == (3, 0)  # the goods left; nothing came back


def test_a_vendor_cancelling_a_part_cancelled_meanwhile_refunds_once(app, sold):
    order, vendor = sold["order"], sold["vendor"]
    shipment = stale(Shipment, part_of(order).id)
    assert shipment.status == ShipmentStatus.PENDING
    assert stale(Order, order.id).lines[0].refunded_quantity == 0

    elsewhere(
        app,
        lambda staff, org: cancel_part(staff, org, order.id, "缺货"),
        (User, sold["staff"].id),
        (Organization, vendor.id),
    )
    with pytest.raises(IllegalTransition, match="该包裹当前状态不能取消"):
        cancel_part(sold["staff"], vendor, order.id, "缺货")
    with pytest.raises(IllegalTransition, match="订单已取消"):
        cancel_by_buyer(sold["buyer"], order.id, "不要了")

    db.session.expire_all()
    assert [r.amount for r in refunds_of(order)] == [order.total]
    assert on_hand_reserved(sold["product"]) == (5, 0)


def test_after_sales_holding_a_stale_part_does_not_restock_goods_shipped_meanwhile(app, sold):
    order, staff = sold["order"], bureau_staff()
    assert stale(Order, order.id).shipments[0].status == ShipmentStatus.PENDING

    elsewhere(
        app,
        lambda vendor_staff, org: ship_part(vendor_staff, org, order.id, "EMS", "E1"),
        (User, sold["staff"].id),
        (Organization, sold["vendor"].id),
    )
    line = order.lines[0]
    after_sales_refund(staff, staff.memberships[0].org, order.id, {line.id: 1}, "破损")

    db.session.expire_all()
    assert order.refunded == 1000
    assert on_hand_reserved(sold["product"]) == (3, 0)  # the unit is with the buyer
    assert part_of(order).status == ShipmentStatus.SHIPPED


def test_confirming_receipt_confirmed_meanwhile_is_refused_and_recorded_once(app, sold):
    order = sold["order"]
    ship_part(sold["staff"], sold["vendor"], order.id, "顺丰速运", "SF1")
    assert stale(Order, order.id).shipments[0].status == ShipmentStatus.SHIPPED

    elsewhere(app, lambda buyer: confirm_receipt(buyer, order.id), (User, sold["buyer"].id))
    with pytest.raises(IllegalTransition, match="没有待确认收货的包裹"):
        confirm_receipt(sold["buyer"], order.id)

    db.session.expire_all()
    assert order.status == OrderStatus.COMPLETED
    assert audits(order, "order.confirm_receipt") == 1


def test_a_buyer_confirming_a_shipment_auto_completed_meanwhile_is_refused(app, sold):
    order = sold["order"]
    ship_part(sold["staff"], sold["vendor"], order.id, "顺丰速运", "SF1")
    assert stale(Order, order.id).shipments[0].status == ShipmentStatus.SHIPPED

    completed = elsewhere(app, lambda: expire_orders(utcnow() + timedelta(days=11))[1])
    with pytest.raises(IllegalTransition):
        confirm_receipt(sold["buyer"], order.id)
    assert expire_orders(utcnow() + timedelta(days=11))[1] == 0

    assert completed == 1
    db.session.expire_all()
    assert order.status == OrderStatus.COMPLETED and order.completed_at is not None
    assert audits(order, "order.confirm_receipt") == 0


# ---------------------------------------------------------------- the stock engine


def test_an_order_is_never_sold_or_released_out_of_another_orders_reservation():
    product = stocked_product(3)
    one = [Goods(product.id, 1)]
    for order in "ABD":
        stock.reserve(one, Ref("order", order))
    stock.commit_sale(one, Ref("order", "A"))

    # the level holds 2 reserved units, but none of them is A's, C's, or B's second
    with pytest.raises(NotReserved):
        stock.commit_sale(one, Ref("order", "A"))  # A's unit is sold already
    with pytest.raises(NotReserved):
        stock.release(one, Ref("order", "C"))  # C never reserved
    with pytest.raises(NotReserved):
        stock.commit_sale([Goods(product.id, 2)], Ref("order", "B"))  # B holds 1

    db.session.rollback()
    assert on_hand_reserved(product) == (2, 2)
    stock.commit_sale(one, Ref("order", "B"))
    stock.release(one, Ref("order", "D"))
    assert on_hand_reserved(product) == (1, 0)
