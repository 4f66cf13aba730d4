"""Checkout under contention (issue 6): on PostgreSQL, 40 buyers press 提交订单 for the
last 10 units at the same moment, each in its own thread, app context, session and
connection, through the real ``place_order``. Exactly 10 orders reserve; the other
30 are told the product ran out; nothing goes negative and the movement ledger still
adds up. And one checkout token submitted five times at once makes one order."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import User
from orders.ledger.models import Order, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.models import StockLevel, StockMovement
from vendors.services import audit
from vendors.stock import OutOfStock

from ..conftest import make_test_config, requires_postgres
from ..factories import UserFactory
from ..stock_helpers import warehouse_level
from ..unit.test_shop_core import address, stocked_product

pytestmark = [requires_postgres, pytest.mark.postgres]

BUYERS = 40
UNITS = 10


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    """The suite's app again, with a pool large enough for every thread to hold its own
    connection before the barrier (the tables are the suite's, created once)."""
    config = make_test_config(database_url, tmp_path_factory.mktemp("checkout-race"))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": BUYERS + 5, "max_overflow": 0}
    race_app = create_app(config)
    yield race_app
    with race_app.app_context():
        db.engine.dispose()


def checkout_race(app, plans: list[tuple[int, str]], product_id: int, quantity: int = 1):
    """One ``place_order`` per (buyer id, token), all released by one barrier. Returns
    the outcomes, the messages refused buyers got, the order ids made, unexpected errors
    and the lowest on-hand / reserved / available a watcher saw during the race."""
    barrier = threading.Barrier(len(plans) + 1)
    outcomes: Counter = Counter()
    messages: list[str] = []
    order_ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Event()
    lowest = {"on_hand": 10**9, "reserved": 10**9, "available": 10**9}

    def buyer(user_id: int, token: str) -> None:
        with app.app_context():
            result, detail = "error", None
            try:
                user = db.session.get(User, user_id)
                db.session.execute(text("SELECT 1"))  # hold a connection of its own
                barrier.wait(timeout=30)
                order = place_order(user, {product_id: quantity}, address(), token)
                result, detail = "ordered", order.id
            except OutOfStock as exc:
                result, detail = "out_of_stock", exc.message
            except BaseException as exc:  # any other failure is reported by the test
                with lock:
                    errors.append(exc)
            finally:
                db.session.rollback()
                db.session.remove()
            with lock:
                outcomes[result] += 1
                if result == "ordered":
                    order_ids.append(detail)
                elif result == "out_of_stock":
                    messages.append(detail)

    def watcher() -> None:
        with app.app_context():
            while not done.is_set():
                row = db.session.execute(
                    select(
                        func.min(StockLevel.on_hand),
                        func.min(StockLevel.reserved),
                        func.min(StockLevel.on_hand - StockLevel.reserved),
                    )
                ).one()
                db.session.rollback()
                for key, value in zip(lowest, row, strict=True):
                    if value is not None:
                        lowest[key] = min(lowest[key], value)
            db.session.remove()

    threads = [threading.Thread(target=buyer, args=plan) for plan in plans]
    watch = threading.Thread(target=watcher)
    for thread in threads:
        thread.start()
    watch.start()
    barrier.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    watch.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a checkout hung (deadlock?)"
    return outcomes, messages, order_ids, errors, lowest


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
