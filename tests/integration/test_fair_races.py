"""Stall sales through the real HTTP route under gunicorn: a phone that resubmits the
same sale (a retry, a sync racing a tap) records it once, even when the copies arrive
at the same moment in different worker processes; a close racing sales never leaves
a sale half in and stock where it should not be."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from orders.fairs import fairs
from orders.fairs.models import StallSale
from orders.ledger.models import Attribution, Order
from vendors import stock
from vendors.stock import WAREHOUSE

from ..conftest import TEST_PASSWORD, requires_postgres
from ..fair_helpers import stall_at_fair
from ..race import assert_ledger_matches_levels
from .live_server import concurrently

pytestmark = [requires_postgres, pytest.mark.postgres]


def post_json(browser, path, body):
    return browser.session.post(
        browser.base_url + path,
        json=body,
        headers={"X-CSRFToken": browser.csrf, "Accept": "application/json"},
        timeout=browser.timeout,
    )


def test_two_concurrent_submits_of_one_sale_token_record_it_once(live_server):
    s = stall_at_fair(at_stall=10)
    browser = live_server.browser().login(s.seller.email, TEST_PASSWORD)
    body = {
        "token": "race-token-0001",
        "payment_method": "wechat",
        "lines": [{"product_id": s.product.id, "quantity": 3}],
    }
    path = f"/vendor/fairs/{s.fair.id}/stall/sales"
    for attempt in range(3):
        body["token"] = f"race-token-{attempt:04d}"
        tabs = [browser.clone() for _ in range(2)]
        responses = concurrently([partial(post_json, tab, path, body) for tab in tabs])
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 201], (codes, live_server.log()[-3000:])
        ids = {r.json()["sale"]["id"] for r in responses}
        assert len(ids) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(StallSale.id))) == 3
    assert db.session.scalar(select(func.count(Order.id))) == 3
    assert db.session.scalar(select(func.sum(Attribution.amount))) == 3 * 3 * 2500
    assert stock.available(s.product.id, fairs.stall_place(s.stall)) == 1
    assert_ledger_matches_levels()


def test_ten_copies_of_one_sale_at_once_record_it_once(live_server):
    s = stall_at_fair(at_stall=5)
    browser = live_server.browser().login(s.seller.email, TEST_PASSWORD)
    body = {
        "token": "race-ten-copies",
        "payment_method": "cash",
        "lines": [{"product_id": s.product.id, "quantity": 5}],
    }
    path = f"/vendor/fairs/{s.fair.id}/stall/sales"
    tabs = [browser.clone() for _ in range(10)]
    responses = concurrently([partial(post_json, tab, path, body) for tab in tabs])
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201], live_server.log()[-3000:]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert stock.available(s.product.id, fairs.stall_place(s.stall)) == 0
    assert_ledger_matches_levels()


def test_a_close_racing_sales_leaves_every_unit_accounted_for(live_server):
    s = stall_at_fair(warehouse=40, at_stall=30)
    seller = live_server.browser().login(s.seller.email, TEST_PASSWORD)
    boss = live_server.browser().login(s.organizer.email, TEST_PASSWORD)
    path = f"/vendor/fairs/{s.fair.id}/stall/sales"
    product_id, fair_id = s.product.id, s.fair.id

    def sale(n):
        return post_json(
            seller.clone(),
            path,
            {
                "token": f"race-close-{n:04d}",
                "payment_method": "cash",
                "lines": [{"product_id": product_id, "quantity": 1}],
            },
        )

    calls = [partial(sale, n) for n in range(6)]
    calls.append(partial(boss.clone().post, f"/organizer/fairs/{fair_id}/close"))
    responses = concurrently(calls)
    assert all(r.status_code < 500 for r in responses), live_server.log()[-3000:]
    sold = sum(1 for r in responses[:6] if r.status_code == 201)
    assert all(r.status_code in (201, 409) for r in responses[:6])
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id))) == sold
    assert stock.available(s.product.id, fairs.stall_place(s.stall)) == 0
    assert stock.available(s.product.id, WAREHOUSE) == 40 - sold
    assert_ledger_matches_levels()
