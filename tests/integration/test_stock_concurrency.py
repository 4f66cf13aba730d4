"""Two buyers never get the last box (issue 5, DESIGN.md "Stock"): on PostgreSQL, 30
threads reserve at the same moment, each in its own app context, session and connection,
committing on its own. Exactly as many succeed as there are units; nothing goes negative;
multi-line reservations in opposite orders neither deadlock nor leave partial holds."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from marketplace import create_app
from marketplace.extensions import db
from vendors import stock
from vendors.models import StockLevel, StockLocation, StockMovement
from vendors.services import audit
from vendors.stock import Goods, OutOfStock, Ref, fair_stall

from ..catalog_factories import ProductFactory
from ..conftest import make_test_config, requires_postgres
from ..factories import OrgFactory
from ..stock_helpers import level, warehouse_level

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 30


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    """The suite's app again, with a pool large enough for every thread to hold its own
    connection before the barrier (the tables are the suite's, created once)."""
    config = make_test_config(database_url, tmp_path_factory.mktemp("race"))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": THREADS + 5, "max_overflow": 0}
    race_app = create_app(config)
    yield race_app
    with race_app.app_context():
        db.engine.dispose()


def reserving(plans: list[list[Goods]]) -> list[Callable[[], object]]:
    return [
        lambda n=n, goods=goods: stock.reserve(goods, Ref(type="order", id=n, actor="race"))
        for n, goods in enumerate(plans)
    ]


def race(app, actions: list[Callable[[], object]]) -> tuple[Counter, list[BaseException], dict]:
    """Run every action (a stock operation) in its own thread, all released by one
    barrier. Returns the outcome counts, unexpected errors, and the lowest values a
    watcher saw during the race."""
    barrier = threading.Barrier(len(actions) + 1)
    outcomes: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Event()
    lowest = {"on_hand": 10**9, "reserved": 10**9, "available": 10**9}

    def buyer(action: Callable[[], object]) -> None:
        with app.app_context():
            try:
                db.session.execute(text("SELECT 1"))  # hold a connection of its own
                barrier.wait(timeout=30)
                action()
                result = "ok"
            except OutOfStock:
                result = "out_of_stock"
            except BaseException as exc:  # any other failure is reported by the test
                result = "error"
                with lock:
                    errors.append(exc)
            finally:
                db.session.rollback()
                db.session.remove()
            with lock:
                outcomes[result] += 1

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

    threads = [threading.Thread(target=buyer, args=(action,)) for action in actions]
    watch = threading.Thread(target=watcher)
    for thread in threads:
        thread.start()
    watch.start()
    barrier.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    watch.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a reservation hung (deadlock?)"
    return outcomes, errors, lowest


def stocked(quantity: int, vendor=None):
    product = ProductFactory(vendor=vendor) if vendor else ProductFactory()
    stock.receive([Goods(product.id, quantity)], Ref(note="last boxes"))
    return product


def assert_checks_hold(level_id: int) -> None:
    """The database itself refuses negative stock, whatever a service might try."""
    for values in (
        {"reserved": StockLevel.on_hand + 1},
        {"on_hand": -1, "reserved": 0},
        {"reserved": -1},
    ):
        with pytest.raises(IntegrityError):
            db.session.execute(update(StockLevel).where(StockLevel.id == level_id).values(values))
            db.session.flush()
        db.session.rollback()


def test_thirty_buyers_for_the_last_ten_units(app):
    product = stocked(10)
    outcomes, errors, lowest = race(
        app, reserving([[Goods(product.id, 1)] for _ in range(THREADS)])
    )
    assert errors == []
    assert outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
    db.session.expire_all()
    at_home = warehouse_level(product.id)
    assert (at_home.on_hand, at_home.reserved, at_home.available) == (10, 10, 0)
    assert stock.available(product.id) == 0
    assert min(lowest.values()) >= 0
    reservations = db.session.scalar(
        select(func.count()).where(StockMovement.kind == "reservation")
    )
    assert reservations == 10
    assert audit().unexplained == 0  # every level is the sum of its movements
    assert_checks_hold(at_home.id)


def test_multi_line_reservations_in_opposite_orders(app):
    vendor = OrgFactory()
    roomy = stocked(15, vendor)  # created first: the lower id
    scarce = stocked(10, vendor)
    plans = []
    for n in range(THREADS):
        lines = [Goods(roomy.id, 1), Goods(scarce.id, 1)]
        plans.append(lines if n % 2 else list(reversed(lines)))
    outcomes, errors, lowest = race(app, reserving(plans))
    assert errors == []
    assert outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
    db.session.expire_all()
    # all-or-nothing: the roomy product is held exactly by the orders that got both lines
    assert warehouse_level(scarce.id).available == 0
    assert warehouse_level(roomy.id).reserved == 10
    assert stock.available(roomy.id) == 5
    per_order = db.session.execute(
        select(StockMovement.ref_id, func.count())
        .where(StockMovement.kind == "reservation")
        .group_by(StockMovement.ref_id)
    ).all()
    assert len(per_order) == 10 and all(n == 2 for _ref, n in per_order)
    assert min(lowest.values()) >= 0
    assert audit().unexplained == 0  # every level is the sum of its movements
    assert_checks_hold(warehouse_level(roomy.id).id)


def test_thirty_sales_at_a_new_fair_stall_create_one_location(app):
    """Two imports (or two stall keepers) using a vendor's stall at a fair for the first
    time at once: the location is created once, nobody fails on the unique constraint."""
    product = ProductFactory()
    stall = fair_stall(4242, "秀英集市（F42）")
    goods = [Goods(product.id, 2, stall)]  # read here: the threads have sessions of their own
    outcomes, errors, _lowest = race(
        app,
        [lambda n=n: stock.receive(goods, Ref(type="fair", id=n)) for n in range(THREADS)],
    )
    assert errors == []
    assert outcomes == Counter(ok=THREADS)
    db.session.expire_all()
    locations = db.session.scalars(
        select(StockLocation).where(
            StockLocation.vendor_id == product.vendor_id, StockLocation.kind == "fair"
        )
    ).all()
    assert [(loc.place_ref, loc.name) for loc in locations] == [(4242, "秀英集市（F42）")]
    assert level(product.id, locations[0].id).on_hand == 2 * THREADS
    assert stock.available(product.id, stall) == 2 * THREADS
    assert audit().unexplained == 0  # every level is the sum of its movements


def test_transfers_both_ways_at_once_neither_deadlock_nor_oversell(app):
    """Half the threads move a unit to the stall, half move one back: the two levels are
    locked in one order, so no deadlock, and neither side goes below zero."""
    product = stocked(10)
    stall = fair_stall(4343, "冬交会")
    stock.transfer(product.id, 10, stock.WAREHOUSE, stall, Ref(type="fair", id=0))
    stock.receive([Goods(product.id, 10)], Ref(note="second batch"))

    product_id = product.id  # read here: the threads have sessions of their own

    def move(n: int) -> Callable[[], object]:
        source, target = (stock.WAREHOUSE, stall) if n % 2 else (stall, stock.WAREHOUSE)
        return lambda: stock.transfer(product_id, 1, source, target, Ref(type="fair", id=n))

    outcomes, errors, lowest = race(app, [move(n) for n in range(THREADS)])
    assert errors == []
    assert outcomes == Counter(ok=THREADS)
    db.session.expire_all()
    assert stock.available(product.id) == 10 and stock.available(product.id, stall) == 10
    assert min(lowest.values()) >= 0
    assert audit().unexplained == 0  # every level is the sum of its movements
