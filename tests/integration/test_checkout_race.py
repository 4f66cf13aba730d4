"""Checkout under contention (issue 6): on PostgreSQL, 40 buyers press 提交订单 for the
last 10 units at the same moment, each in its own thread, app context, session and
connection, through the real ``place_order``. Exactly 10 orders reserve; the other
30 are told the product ran out; nothing goes negative and the movement ledger still
adds up. And one checkout token submitted five times at once makes one order."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import User
from orders.ledger.models import Order, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.models import StockMovement
from vendors.services import audit
from vendors.stock import OutOfStock

from ..conftest import requires_postgres
from ..factories import UserFactory
from ..race import race, race_app
from ..stock_helpers import warehouse_level
from ..unit.test_shop_core import address, stocked_product

pytestmark = [requires_postgres, pytest.mark.postgres]

BUYERS = 40
UNITS = 10


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    """The suite's app with a connection for every buyer and the watcher."""
    yield from race_app(database_url, tmp_path_factory.mktemp("checkout-race"), BUYERS + 5)


def checkout_race(app, plans: list[tuple[int, str]], product_id: int, quantity: int = 1):
    """One ``place_order`` per (buyer id, token), all released by one barrier (the shared
    harness, tests/race.py). Returns the outcomes, the messages refused buyers got, the
    order ids made, unexpected errors and the lowest on-hand / reserved / available a
    watcher saw during the race."""
    messages: list[str] = []
    order_ids: list[int] = []
    lock = threading.Lock()

    def buyer(user_id: int, token: str):
        def run(start) -> str:
            user = db.session.get(User, user_id)
            start()
            try:
                order = place_order(user, {product_id: quantity}, address(), token)
            except OutOfStock as exc:
                with lock:
                    messages.append(exc.message)
                return "out_of_stock"
            with lock:
                order_ids.append(order.id)
            return "ordered"

        return run

    result = race(app, [buyer(*plan) for plan in plans])
    return result.outcomes, messages, order_ids, result.errors, result.lowest


def test_forty_buyers_for_the_last_ten_units(app):
    product = stocked_product(UNITS)
    buyers = [UserFactory().id for _ in range(BUYERS)]

    outcomes, messages, order_ids, errors, lowest = checkout_race(
        app, [(user_id, f"race-{n}") for n, user_id in enumerate(buyers)], product.id
    )

    assert errors == []
    assert outcomes == Counter(ordered=UNITS, out_of_stock=BUYERS - UNITS)
    assert len(set(order_ids)) == UNITS
    # a clear message: which product, and that it ran out
    assert all(product.name in m and "库存不足" in m and "仅剩 0" in m for m in messages)
    db.session.expire_all()
    assert stock.available(product.id) == 0
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (UNITS, UNITS)
    assert min(lowest.values()) >= 0
    orders = list(db.session.scalars(select(Order)))
    assert len(orders) == UNITS
    assert {o.status for o in orders} == {OrderStatus.PENDING_PAYMENT}
    assert len({o.buyer_user_id for o in orders}) == UNITS
    reservations = db.session.scalar(
        select(func.count()).where(StockMovement.kind == "reservation")
    )
    assert reservations == UNITS
    assert audit().unexplained == 0  # every level is the sum of its movements

    # the ten pay: the units leave as sold, the levels still match the ledger
    for order in orders:
        assert complete_payment("test", start_payment(order).reference).status == "paid"
    level = warehouse_level(product.id)
    db.session.refresh(level)
    assert (level.on_hand, level.reserved) == (0, 0)
    assert audit().unexplained == 0  # every level is the sum of its movements


def test_one_token_submitted_five_times_at_once_makes_one_order(app):
    product = stocked_product(UNITS)
    buyer = UserFactory().id

    outcomes, _messages, order_ids, errors, lowest = checkout_race(
        app, [(buyer, "double-click-token")] * 5, product.id, quantity=3
    )

    assert errors == []
    assert outcomes == Counter(ordered=5)
    assert len(set(order_ids)) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert stock.available(product.id) == UNITS - 3
    reservations = db.session.scalar(
        select(func.count()).where(StockMovement.kind == "reservation")
    )
    assert reservations == 1
    assert min(lowest.values()) >= 0
    assert audit().unexplained == 0  # every level is the sum of its movements
