"""The online order's state rules live on the models: what a shipment's status means
(waiting, on its way, left the warehouse), its guarded steps (ship, receive, cancel,
reopen), and what the buyer may do with the order (cancel, confirm receipt). The order
page and the services read the same rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import utcnow
from orders.ledger.models import Order, OrderStatus
from orders.shop import fulfilment as shop
from orders.shop.models import Shipment, ShipmentStatus

from ..factories import UserFactory
from ..order_factories import PaidOrderFactory, PendingOrderFactory
from ..vendor_factories import SellableProductFactory
from .test_shop_orders import vendor_admin


def two_vendor_order(factory=PaidOrderFactory) -> Order:
    first, second = SellableProductFactory(), SellableProductFactory()
    return factory(items={first: 1, second: 1})


def commit_and_reload(order: Order) -> Order:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Order, order.id)


# ---------------------------------------------------------------- a shipment's states


@pytest.mark.parametrize(
    "status, pending, in_transit, shipped, open_",
    [
        (ShipmentStatus.PENDING, True, False, False, True),
        (ShipmentStatus.SHIPPED, False, True, True, True),
        (ShipmentStatus.RECEIVED, False, False, True, False),
        (ShipmentStatus.CANCELLED, False, False, False, False),
    ],
)
def test_shipment_states(status, pending, in_transit, shipped, open_):
    shipment = Shipment(status=status)
    assert shipment.is_pending is pending
    assert shipment.is_in_transit is in_transit
    assert shipment.has_shipped is shipped
    assert shipment.is_open is open_
    assert shipment.is_cancelled is (status == ShipmentStatus.CANCELLED)


def test_cancel_moves_a_waiting_part_once_with_its_reason_and_time():
    order = two_vendor_order()
    part = order.shipments[0]
    now = utcnow()
    assert part.cancel("缺货", now) is True
    assert part.cancel("第二次", now + timedelta(minutes=1)) is False
    order = commit_and_reload(order)
    part = order.shipments[0]
    assert (part.status, part.cancel_reason, part.cancelled_at) == (
        ShipmentStatus.CANCELLED,
        "缺货",
        now,
    )
    assert order.shipments[1].is_pending  # the other vendor's part is untouched


def test_a_shipped_part_cannot_be_cancelled_and_a_cancelled_one_cannot_ship():
    order = two_vendor_order()
    first, second = order.shipments
    now = utcnow()
    assert first.ship("顺丰速运", "SF1", now) is True
    assert first.cancel("太晚了", now) is False
    assert second.cancel("缺货", now) is True
    assert second.ship("顺丰速运", "SF2", now) is False
    order = commit_and_reload(order)
    first, second = order.shipments
    assert (first.status, first.tracking_no, first.cancel_reason) == (
        ShipmentStatus.SHIPPED,
        "SF1",
        None,
    )
    assert (second.status, second.tracking_no) == (ShipmentStatus.CANCELLED, None)


def test_a_part_is_received_once_and_only_after_shipping():
    order = two_vendor_order()
    first, second = order.shipments
    now = utcnow()
    assert second.receive(now) is False  # still in the warehouse
    first.ship("顺丰速运", "SF1", now)
    assert first.receive(now) is True
    assert first.receive(now) is False
    order = commit_and_reload(order)
    assert [s.status for s in order.shipments] == [ShipmentStatus.RECEIVED, ShipmentStatus.PENDING]


def test_reopen_puts_a_cancelled_part_back_in_the_queue_without_its_reason():
    order = two_vendor_order()
    first, second = order.shipments
    first.cancel("超时", utcnow())
    assert first.reopen() is True
    assert second.reopen() is False  # it was never cancelled
    order = commit_and_reload(order)
    first = order.shipments[0]
    assert (first.status, first.cancelled_at, first.cancel_reason) == (
        ShipmentStatus.PENDING,
        None,
        None,
    )


# ---------------------------------------------------------------- what the buyer may do


def test_the_buyer_may_cancel_an_unpaid_order_or_a_paid_one_before_anything_ships():
    assert two_vendor_order(PendingOrderFactory).buyer_can_cancel
    order = two_vendor_order()
    assert order.buyer_can_cancel
    order.shipments[0].ship("顺丰速运", "SF1", utcnow())
    assert not order.buyer_can_cancel


def test_nothing_is_left_to_cancel_once_every_part_is_cancelled():
    order = two_vendor_order()
    for part in order.shipments:
        part.cancel("缺货", utcnow())
    assert order.is_paid and not order.parts_to_ship
    assert not order.buyer_can_cancel


def test_a_cancelled_or_completed_order_cannot_be_cancelled():
    for status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
        assert not Order(status=status, shipments=[Shipment()]).buyer_can_cancel


def test_receipt_is_confirmed_while_a_part_is_on_its_way():
    order = two_vendor_order()
    assert not order.buyer_can_confirm_receipt
    order.shipments[0].ship("顺丰速运", "SF1", utcnow())
    assert order.buyer_can_confirm_receipt
    assert order.has_shipped_parts


def test_an_order_is_done_when_no_part_is_open_and_one_was_received():
    order = two_vendor_order()
    first, second = order.shipments
    now = utcnow()
    first.ship("顺丰速运", "SF1", now)
    first.receive(now)
    assert not order.ready_to_complete  # the second part still waits
    second.cancel("缺货", now)
    assert order.ready_to_complete
    unpaid = two_vendor_order(PendingOrderFactory)
    for part in unpaid.shipments:
        part.cancel("超时", now)
    assert not unpaid.ready_to_complete  # nothing was received


# ---------------------------------------------------------------- the order page reads them


def test_the_order_page_offers_no_cancel_when_every_part_was_cancelled(client, auth):
    """The vendors cancelled their parts (and refunded them): the service would refuse a
    cancellation, so the page does not offer one."""
    buyer = UserFactory()
    product = SellableProductFactory()
    order = PaidOrderFactory(buyer=buyer, items={product: 1})
    shop.cancel_part(vendor_admin(product), product.vendor, order.id, "缺货")
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="cancel-form"' not in page
    assert 'data-testid="confirm-receipt"' not in page


def test_the_order_page_offers_cancel_and_receipt_as_the_rules_say(client, auth):
    buyer = UserFactory()
    first, second = SellableProductFactory(), SellableProductFactory()
    order = PaidOrderFactory(buyer=buyer, items={first: 1, second: 1})
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="cancel-form"' in page
    assert 'data-testid="confirm-receipt"' not in page
    shop.ship_part(vendor_admin(first), first.vendor, order.id, "顺丰速运", "SF1")
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="cancel-form"' not in page
    assert 'data-testid="confirm-receipt"' in page
