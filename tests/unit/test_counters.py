"""Counters: stores, goods placed at a counter, sales reports entering the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.errors import Forbidden, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.fairs import counters
from orders.ledger.models import Attribution, Order
from vendors import stock
from vendors.stock import WAREHOUSE, OutOfStock

from ..factories import MembershipFactory, OrgFactory, member_of
from ..vendor_factories import SellableProductFactory


def setup(placed=10):
    retailer_user = member_of(OrgKind.RETAILER, Role.STAFF, name="椰城超市")
    retailer = retailer_user.memberships[0].org
    store = counters.register_store(
        retailer_user, retailer, "椰城超市国贸店", "国贸路1号", "龙华区"
    )
    vendor = OrgFactory(kind=OrgKind.COOPERATIVE)
    seller = MembershipFactory(org=vendor, role=Role.STAFF).user
    product = SellableProductFactory(vendor=vendor, stock=20, price=1000)
    if placed:
        counters.place_at_counter(seller, vendor, store.id, product.id, placed)
    return retailer_user, retailer, store, vendor, seller, product


def at_counter(store, product):
    return stock.available(product.id, counters.counter_place(store))


def test_a_counter_report_moves_stock_and_enters_the_ledger_under_counter():
    retailer_user, retailer, store, vendor, _seller, product = setup()
    assert at_counter(store, product) == 10
    assert stock.available(product.id, WAREHOUSE) == 10
    day = local_today() - timedelta(days=1)
    report = counters.report_counter_sales(
        retailer_user,
        retailer,
        store.id,
        vendor.id,
        day - timedelta(days=6),
        day,
        [counters.ReportLine(product.id, 4, 3600)],
    )
    order = db.session.get(Order, report.order_id)
    assert (order.channel, order.status, order.total, order.sale_date) == (
        "counter",
        "paid",
        3600,
        day,
    )
    assert order.buyer_org_id == retailer.id and order.buyer_name == "椰城超市国贸店"
    assert order.lines[0].unit_price == 900
    assert at_counter(store, product) == 6
    assert stock.available(product.id, WAREHOUSE) == 10
    assert (
        db.session.scalar(
            select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
        )
        == 3600
    )
    view = counters.counter_view(store)
    (row,) = view["rows"]
    assert (row.on_hand, row.sold, row.sell_through) == (6, 4, 0.4)


def test_the_vendor_may_report_too_but_not_twice_for_a_period():
    _ru, _r, store, vendor, seller, product = setup()
    day = local_today()
    line = [counters.ReportLine(product.id, 1, 1000)]
    counters.report_counter_sales(seller, vendor, store.id, vendor.id, day, day, line)
    with pytest.raises(ValidationError):
        counters.report_counter_sales(seller, vendor, store.id, vendor.id, day, day, line)
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert at_counter(store, product) == 9


def test_a_report_beyond_the_counter_stock_or_with_an_inexact_amount_is_refused():
    retailer_user, retailer, store, vendor, _seller, product = setup(placed=3)
    day = local_today()
    with pytest.raises(OutOfStock):
        counters.report_counter_sales(
            retailer_user,
            retailer,
            store.id,
            vendor.id,
            day,
            day,
            [counters.ReportLine(product.id, 4, 4000)],
        )
    with pytest.raises(ValidationError):
        counters.report_counter_sales(
            retailer_user,
            retailer,
            store.id,
            vendor.id,
            day,
            day,
            [counters.ReportLine(product.id, 3, 1000)],
        )
    assert at_counter(store, product) == 3
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_strangers_may_not_report_or_see_another_retailers_store():
    _ru, _r, store, vendor, _s, product = setup()
    other = member_of(OrgKind.RETAILER, Role.STAFF)
    other_org = other.memberships[0].org
    day = local_today()
    with pytest.raises(Forbidden):
        counters.report_counter_sales(
            other,
            other_org,
            store.id,
            vendor.id,
            day,
            day,
            [counters.ReportLine(product.id, 1, 1000)],
        )
    with pytest.raises(NotFound):
        counters.retailer_store(other_org, store.id)


def test_a_missing_weekly_report_is_reminded(frozen_clock):
    _retailer_user, _retailer, store, vendor, _s, _product = setup()
    first = counters.week_start(local_today())
    view = counters.counter_view(store)
    assert view["missing"] == []  # this week is not over yet
    later = counters.missing_weeks(store, {vendor.id}, today=first + timedelta(days=15))
    assert [monday for _v, monday in later] == [first, first + timedelta(days=7)]


def test_a_report_file_in_csv():
    _ru, _r, _store, vendor, _seller, product = setup()
    data = f"sku,quantity,amount\n{product.sku},2,20.00\n".encode()
    lines = counters.lines_from_file(vendor.id, "week.csv", data)
    assert lines == [counters.ReportLine(product.id, 2, 2000)]
    with pytest.raises(ValidationError):
        counters.lines_from_file(vendor.id, "week.csv", b"sku,quantity,amount\nNOPE,1,1\n")


def test_a_report_file_in_xlsx():
    from marketplace.tabular import to_xlsx

    _ru, _r, _store, vendor, _seller, product = setup()
    data = to_xlsx("week", ["sku", "quantity", "amount"], [[product.sku, 3, "30.00"]])
    assert counters.lines_from_file(vendor.id, "week.xlsx", data) == [
        counters.ReportLine(product.id, 3, 3000)
    ]
