"""Two buyers never get the last box (issue 5, DESIGN.md "Stock"): on PostgreSQL, 30
threads reserve at the same moment, each in its own app context, session and connection,
committing on its own. Exactly as many succeed as there are units; nothing goes negative;
multi-line reservations in opposite orders neither deadlock nor leave partial holds."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from marketplace import create_app
from marketplace.extensions import db
from vendors import services
from vendors.models import StockLevel, StockMovement
from vendors.services import OutOfStock, Ref, StockItem

from ..catalog_factories import ProductFactory
from ..conftest import make_test_config, requires_postgres
from ..factories import OrgFactory

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


def race(app, plans: list[list[StockItem]]) -> tuple[Counter, list[BaseException], dict]:
    """Run one reservation per plan, all released by one barrier. Returns the outcome
    counts, unexpected errors, and the lowest values a watcher saw during the race."""
    barrier = threading.Barrier(len(plans) + 1)
    outcomes: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Event()
    lowest = {"on_hand": 10**9, "reserved": 10**9, "available": 10**9}

    def buyer(n: int, items: list[StockItem]) -> None:
        with app.app_context():
            try:
                db.session.execute(text("SELECT 1"))  # hold a connection of its own
                barrier.wait(timeout=30)
                services.reserve(items, Ref(type="order", id=n, actor="race"))
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

    threads = [threading.Thread(target=buyer, args=(n, p)) for n, p in enumerate(plans)]
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
    location = services.warehouse(product.vendor_id)
    services.receive(product.id, location.id, quantity, Ref(note="last boxes"))
    return product, location


def assert_ledger_matches() -> None:
    sums = db.session.execute(
        select(
            StockMovement.product_id,
            StockMovement.location_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
        ).group_by(StockMovement.product_id, StockMovement.location_id)
    ).all()
    levels = {
        (lv.product_id, lv.location_id): (lv.on_hand, lv.reserved)
        for lv in db.session.scalars(select(StockLevel))
    }
    assert {(p, loc): (oh, rs) for p, loc, oh, rs in sums} == levels


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
    product, location = stocked(10)
    outcomes, errors, lowest = race(
        app, [[StockItem(product.id, location.id, 1)] for _ in range(THREADS)]
    )
    assert errors == []
    assert outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
    db.session.expire_all()
    level = services.level(product.id, location.id)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert services.available(product.id) == 0
    assert min(lowest.values()) >= 0
    reservations = db.session.scalar(
        select(func.count()).where(StockMovement.kind == "reservation")
    )
    assert reservations == 10
    assert_ledger_matches()
    assert_checks_hold(level.id)


def test_multi_line_reservations_in_opposite_orders(app):
    vendor = OrgFactory()
    roomy, roomy_location = stocked(15, vendor)  # created first: the lower id
    scarce, scarce_location = stocked(10, vendor)
    plans = []
    for n in range(THREADS):
        lines = [
            StockItem(roomy.id, roomy_location.id, 1),
            StockItem(scarce.id, scarce_location.id, 1),
        ]
        plans.append(lines if n % 2 else list(reversed(lines)))
    outcomes, errors, lowest = race(app, plans)
    assert errors == []
    assert outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
    db.session.expire_all()
    # all-or-nothing: the roomy product is held exactly by the orders that got both lines
    assert services.level(scarce.id, scarce_location.id).available == 0
    assert services.level(roomy.id, roomy_location.id).reserved == 10
    assert services.available(roomy.id) == 5
    per_order = db.session.execute(
        select(StockMovement.ref_id, func.count())
        .where(StockMovement.kind == "reservation")
        .group_by(StockMovement.ref_id)
    ).all()
    assert len(per_order) == 10 and all(n == 2 for _ref, n in per_order)
    assert min(lowest.values()) >= 0
    assert_ledger_matches()
    assert_checks_hold(services.level(roomy.id, roomy_location.id).id)
