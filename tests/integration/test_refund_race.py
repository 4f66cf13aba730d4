"""Two refunds of the same last unit at the same moment (PostgreSQL): the order row lock
makes them take turns and the second sees the first, so exactly one succeeds and no
household's attribution goes below zero."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from marketplace import create_app
from marketplace.errors import ValidationError
from marketplace.extensions import db
from orders.ledger import services as ledger
from orders.ledger.models import Attribution, Order, OrderLine

from ..conftest import make_test_config, requires_postgres
from ..unit.test_shop_core import stocked_product

pytestmark = [requires_postgres, pytest.mark.postgres]
THREADS = 6


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    config = make_test_config(database_url, tmp_path_factory.mktemp("refund-race"))
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": THREADS + 3, "max_overflow": 0}
    race_app = create_app(config)
    yield race_app
    with race_app.app_context():
        db.engine.dispose()


def test_concurrent_refunds_of_the_last_unit(app):
    product = stocked_product(5, price=1001)
    order = ledger.record_paid_sale(
        "counter",
        [ledger.SaleItem(product, 2)],
        sale_date=product.created_at.date(),
        payment_method="cash",
        buyer_name="椰城惠民超市",
    )
    line_id = order.lines[0].id
    ledger.refund(order, [(line_id, 1)], reason="first unit back")
    db.session.commit()

    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    lock = threading.Lock()

    def refund_last_unit() -> None:
        with app.app_context():
            outcome = "error"
            try:
                target = db.session.get(Order, order.id)
                _ = target.lines[0].refunded_quantity  # load the line before the race
                db.session.execute(text("SELECT 1"))
                barrier.wait(timeout=30)
                ledger.refund(target, [(line_id, 1)], reason="last unit back")
                outcome = "refunded"
            except ValidationError:
                outcome = "refused"
            finally:
                db.session.rollback()
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=refund_last_unit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["refunded"] + ["refused"] * (THREADS - 1)
    db.session.expire_all()
    line = db.session.get(OrderLine, line_id)
    assert (line.refunded_quantity, line.refunded_amount) == (2, 2002)
    per_household = db.session.execute(
        select(Attribution.household_id, func.sum(Attribution.amount))
        .where(Attribution.order_line_id == line_id)
        .group_by(Attribution.household_id)
    ).all()
    assert per_household and all(total == 0 for _household, total in per_household)
