"""The fairs demo: made through the services, once."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.extensions import db
from orders.fairs import counters
from orders.fairs.models import CounterReport, Fair, FairStatus, StallSale, StallStatus, Store


def test_the_fairs_demo_has_an_open_fair_a_planned_one_and_two_counters_once():
    from catalog.demo import load_catalog_demo
    from marketplace.demo import KERNEL_STEPS
    from orders.fairs.demo import load_fairs_demo
    from vendors.demo import load_stock_demo

    for step in [*KERNEL_STEPS, load_catalog_demo, load_stock_demo]:
        step()
    assert load_fairs_demo() is True
    assert load_fairs_demo() is False
    today = local_today()
    open_ = db.session.scalar(select(Fair).where(Fair.status == FairStatus.OPEN))
    assert open_.date == today
    sellers = {s.vendor.name for s in open_.stalls if s.status == StallStatus.ADMITTED}
    assert len(sellers) == 2
    assert db.session.scalar(select(func.count(StallSale.id))) == 3
    planned = db.session.scalar(
        select(Fair).where(Fair.status == FairStatus.PLANNED, Fair.date > today)
    )
    assert {s.status for s in planned.stalls} == {StallStatus.ADMITTED, StallStatus.APPLIED}
    stores = list(db.session.scalars(select(Store)))
    assert len(stores) == 2
    assert db.session.scalar(select(func.count(CounterReport.id))) == 12
    view = counters.counter_view(stores[0])
    assert view["rows"] and all(row.on_hand > 0 for row in view["rows"])
