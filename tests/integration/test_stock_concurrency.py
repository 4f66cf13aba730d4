"""Two buyers never get the last box (issue 5, DESIGN.md "Stock"): on PostgreSQL, 30
threads reserve at the same moment, each in its own app context, session and connection,
committing on its own. Exactly as many succeed as there are units; nothing goes negative;
multi-line reservations in opposite orders neither deadlock nor leave partial holds."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from vendors import services
from vendors.models import StockLevel, StockMovement
from vendors.services import OutOfStock, Ref, StockItem

from ..conftest import requires_postgres
from ..factories import OrgFactory
from ..race import assert_ledger_matches_levels, race, race_app
from ..vendor_factories import StockedProductFactory

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 30


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    """The suite's app with a connection for every thread and the watcher."""
    yield from race_app(database_url, tmp_path_factory.mktemp("race"), THREADS + 5)


def reserving(n: int, items: list[StockItem]):
    """A job: reserve ``items`` for order ``n``."""

    def job(start) -> str:
        start()
        try:
            services.reserve(items, Ref(type="order", id=n, actor="race"))
        except OutOfStock:
            return "out_of_stock"
        return "ok"

    return job


def stocked(quantity: int, **fields):
    product = StockedProductFactory(stock=quantity, **fields)
    return product, services.warehouse(product.vendor_id)


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
    result = race(
        app, [reserving(n, [StockItem(product.id, location.id, 1)]) for n in range(THREADS)]
    )
    assert result.errors == []
    assert result.outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
    db.session.expire_all()
    level = services.level(product.id, location.id)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert services.available(product.id) == 0
    assert min(result.lowest.values()) >= 0
    reservations = db.session.scalar(
        select(func.count()).where(StockMovement.kind == "reservation")
    )
    assert reservations == 10
    assert_ledger_matches_levels()
    assert_checks_hold(level.id)


def test_multi_line_reservations_in_opposite_orders(app):
    vendor = OrgFactory()
    roomy, roomy_location = stocked(15, vendor=vendor)  # created first: the lower id
    scarce, scarce_location = stocked(10, vendor=vendor)
    plans = []
    for n in range(THREADS):
        lines = [
            StockItem(roomy.id, roomy_location.id, 1),
            StockItem(scarce.id, scarce_location.id, 1),
        ]
        plans.append(reserving(n, lines if n % 2 else list(reversed(lines))))
    result = race(app, plans)
    assert result.errors == []
    assert result.outcomes == Counter(ok=10, out_of_stock=THREADS - 10)
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
    assert min(result.lowest.values()) >= 0
    assert_ledger_matches_levels()
    assert_checks_hold(services.level(roomy.id, roomy_location.id).id)
