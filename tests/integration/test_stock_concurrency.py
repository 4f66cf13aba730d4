"""Two buyers never get the last box (issue 5, DESIGN.md "Stock"): on PostgreSQL, 30
threads reserve at the same moment, each in its own app context, session and connection,
committing on its own. Exactly as many succeed as there are units; nothing goes negative;
multi-line reservations in opposite orders neither deadlock nor leave partial holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from vendors import stock
from vendors.models import StockLevel, StockLocation, StockMovement
from vendors.services import audit
from vendors.stock import Goods, OutOfStock, Ref, fair_stall

from ..catalog_factories import ProductFactory
from ..conftest import requires_postgres
from ..factories import OrgFactory
from ..race import race as shared_race
from ..race import race_app
from ..stock_helpers import level, warehouse_level

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 30


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    """The suite's app with a connection for every thread and the watcher."""
    yield from race_app(database_url, tmp_path_factory.mktemp("race"), THREADS + 5)


def reserving(plans: list[list[Goods]]) -> list[Callable[[], object]]:
    return [
        lambda n=n, goods=goods: stock.reserve(goods, Ref(type="order", id=n, actor="race"))
        for n, goods in enumerate(plans)
    ]


def race(app, actions: list[Callable[[], object]]) -> tuple[Counter, list[BaseException], dict]:
    """Every action (a stock operation) in its own thread through the shared race
    harness (tests/race.py): "ok", "out_of_stock", or an unexpected error."""

    def job(action: Callable[[], object]):
        def run(start) -> str:
            start()
            try:
                action()
            except OutOfStock:
                return "out_of_stock"
            return "ok"

        return run

    result = shared_race(app, [job(action) for action in actions])
    return result.outcomes, result.errors, result.lowest


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
