"""Two transitions of one procurement order at once, through the HTTP routes under
gunicorn: exactly one wins, the other is told the order changed, nothing is done twice."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from orders.ledger.models import Order
from orders.procurement.models import ProcurementEvent, ProcurementOrder
from vendors.models import MovementKind, StockMovement

from .. import procurement_helpers as h
from ..conftest import TEST_PASSWORD, requires_postgres
from ..stock_helpers import warehouse_level
from .live_server import concurrently

pytestmark = [requires_postgres, pytest.mark.postgres]


def steps(order, action: str) -> int:
    return db.session.scalar(
        select(func.count(ProcurementEvent.id)).where(
            ProcurementEvent.order_id == order.id, ProcurementEvent.action == action
        )
    )


def test_two_vendor_tabs_confirming_at_once_reserve_once(live_server):
    ag, ven = h.agency(), h.vendor()
    goods = h.product(ven, stock=100)
    order = h.walk(ag, ven, {goods: 30}, "approved")
    browser = live_server.browser().login(ven.staff.email, TEST_PASSWORD)
    tabs = [browser.clone() for _ in range(6)]
    path = f"/procurement/orders/{order.id}/confirm"

    responses = concurrently([partial(tab.post, path, {}) for tab in tabs])

    assert all(r.status_code == 302 for r in responses), live_server.log()[-4000:]
    flashes = [tab.flashes(r) for tab, r in zip(tabs, responses, strict=True)]
    assert sum(("success", "操作成功。") in f for f in flashes) == 1
    db.session.expire_all()
    assert db.session.get(ProcurementOrder, order.id).status == "confirmed"
    assert steps(order, "confirm") == 1
    level = warehouse_level(goods.id)
    assert (level.on_hand, level.reserved) == (100, 30)
    reservations = db.session.scalar(
        select(func.count(StockMovement.id)).where(
            StockMovement.kind == MovementKind.RESERVATION,
            StockMovement.ref_id == order.number,
        )
    )
    assert reservations == 1


def test_agency_and_vendor_recording_payment_at_once_enter_the_ledger_once(live_server):
    ag, ven = h.agency(), h.vendor()
    goods = h.product(ven, stock=100)
    order = h.walk(ag, ven, {goods: 20}, "invoiced")
    agency_tab = live_server.browser().login(ag.buyer.email, TEST_PASSWORD)
    vendor_tab = live_server.browser().login(ven.staff.email, TEST_PASSWORD)
    path = f"/procurement/orders/{order.id}/pay"
    form = {"reference": "HX-RACE", "paid_on": order.accepted_on.isoformat()}
    tabs = [agency_tab, vendor_tab, agency_tab.clone(), vendor_tab.clone()]

    responses = concurrently([partial(tab.post, path, form) for tab in tabs])

    assert all(r.status_code == 302 for r in responses), live_server.log()[-4000:]
    db.session.expire_all()
    assert db.session.get(ProcurementOrder, order.id).status == "paid"
    assert steps(order, "pay") == 1
    assert db.session.scalar(select(func.count(Order.id))) == 1
