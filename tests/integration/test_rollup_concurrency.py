"""The sales rollup under concurrent sales (issue 15): on PostgreSQL, twenty threads
record paid sales of the same two products (in opposite orders, taking stock) and refund
some at the same moment, each committing on its own. None deadlocks or fails, no sum is
lost, and the rollup kept in step equals the one rebuilt from the attribution rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from orders.ledger import rollup
from orders.ledger.models import Attribution, Channel, SalesRollup
from orders.ledger.services import STOCK_ON_HAND, SaleItem, record_paid_sale, refund
from orders.reports.source import raw_rows
from orders.reports.summary import summary
from vendors import stock
from vendors.stock import Goods, Ref

from ..catalog_factories import BenefitLinkFactory, ProductFactory
from ..conftest import requires_postgres
from ..factories import OrgFactory
from ..race import race, race_app

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 20


@pytest.fixture(scope="module")
def app(app, database_url, tmp_path_factory):
    yield from race_app(database_url, tmp_path_factory.mktemp("rollup"), THREADS + 5)


def _rows() -> set:
    return set(
        db.session.execute(
            select(*[SalesRollup.__table__.c[k] for k in rollup.KEY], SalesRollup.amount)
        ).all()
    )


def test_concurrent_sales_and_refunds_keep_the_rollup_exact(app):
    vendor = OrgFactory()
    products = [ProductFactory(vendor=vendor), ProductFactory(vendor=vendor)]
    for product in products:
        BenefitLinkFactory(product=product, weight=Decimal(1))
        BenefitLinkFactory(product=product, weight=Decimal(2))
        stock.receive([Goods(product.id, 1000)], Ref(note="race"))
    ids = [p.id for p in products]

    def job(n: int):
        def run(start) -> str:
            from catalog.models import Product

            first, second = (ids[0], ids[1]) if n % 2 else (ids[1], ids[0])
            items = [
                SaleItem(db.session.get(Product, first), 1 + n % 3, 1000 + n),
                SaleItem(db.session.get(Product, second), 2, 777),
            ]
            start()
            order = record_paid_sale(
                Channel.COUNTER,
                items,
                sale_date=date(2026, 3, 1 + n % 2),
                check_sellable=False,
                stock_from=STOCK_ON_HAND,
            )
            if n % 4 == 0:
                refund(order, [(order.lines[0].id, 1)], reason="退一件")
            return "ok"

        return run

    result = race(app, [job(n) for n in range(THREADS)])
    assert result.errors == []
    assert result.outcomes == {"ok": THREADS}
    db.session.expire_all()
    raw_total = db.session.scalar(select(func.sum(Attribution.amount)))
    assert summary().total_amount == raw_total
    with raw_rows():
        assert summary().to_json() == summary().to_json()
    kept = _rows()
    rollup.rebuild()
    assert _rows() == kept
