"""The bureau's dashboard is computed once per period and place and served from the cache
until a change to what it reads commits: a sale, a refund, an import, a household's
members, a fair, a certification, a product's name each show at once; a change that
rolls back drops nothing (orders.reports.freshness)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from catalog.models import Certification, CertStatus
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.models import Household, OrgKind, Role
from marketplace.unit_of_work import unit_of_work
from orders.fairs.models import Fair, FairStatus
from orders.ledger.imports import SalesImport
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale, refund
from orders.reports import views
from tests.conftest import TEST_PASSWORD
from tests.factories import member_of
from tests.unit.test_reports_breakdowns import build_ledger
from tests.unit.test_reports_pages import page_tables
from tests.unit.test_sales_rollup import SALES_CSV

WHOLE = "/bureau/reports"
CUT = "/bureau/reports?from=2024-03-15&to=2024-12-20"  # cuts a month at each end


@pytest.fixture
def client(cached_app):
    ledger = build_ledger()
    user = member_of(kind=OrgKind.BUREAU, role=Role.STAFF)
    client = cached_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    client.ledger = ledger
    return client


def figures(client, path: str = WHOLE) -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = dict(re.findall(r'data-figure="(\w+)">([^<]*)<', page))
    tables = page_tables(page)
    found["certified_products"] = dict(map(tuple, tables["summary"]))["认定产品数"]
    found["tables"] = str(tables)
    return found


def fail(*args, **kwargs):
    raise AssertionError("computed again")


def cached_figures(client, monkeypatch, path: str = WHOLE) -> dict[str, str]:
    """The page, which must come from the cache (computing it fails)."""
    with monkeypatch.context() as patched:
        patched.setattr(views, "dashboard_figures", fail)
        return figures(client, path)


def test_served_from_the_cache_per_period_and_place(client, monkeypatch):
    whole, cut = figures(client), figures(client, CUT)
    assert whole["total_amount"] != cut["total_amount"]
    assert cached_figures(client, monkeypatch) == whole
    assert cached_figures(client, monkeypatch, CUT) == cut
    district = client.ledger.households["h1"].village.town.district
    with monkeypatch.context() as patched:
        patched.setattr(views, "dashboard_figures", fail)
        # another place: its own entry, computed (and failing here)
        assert client.get(f"{WHOLE}?district={district.id}").status_code == 500


def _sale(client, day=date(2024, 7, 15)):
    return record_paid_sale(
        Channel.COUNTER,
        [SaleItem(client.ledger.products["rice"], 1, 1_234_567)],
        sale_date=day,
        check_sellable=False,
    )


def test_a_sale_a_refund_and_an_import_show_at_once(client, monkeypatch):
    before = figures(client)
    cut_before = figures(client, CUT)
    assert before["total_amount"] == "303.33"

    sale = _sale(client)
    after_sale = figures(client)
    assert after_sale["total_amount"] == "12,649.00"
    assert figures(client, CUT)["total_amount"] != cut_before["total_amount"]
    assert cached_figures(client, monkeypatch) == after_sale

    refund(sale, [(sale.lines[0].id, 1)], reason="退货")
    assert figures(client)["total_amount"] == "303.33"
    assert figures(client, CUT)["total_amount"] == cut_before["total_amount"]

    run_import(SalesImport("test"), SALES_CSV.encode())
    assert figures(client)["total_amount"] == "614.30"


def test_a_change_that_rolls_back_drops_nothing(client, monkeypatch):
    before = figures(client)
    with pytest.raises(RuntimeError), unit_of_work():
        _sale(client)
        db.session.execute(update(Household).values(members=Household.members + 1))
        raise RuntimeError("rolled back")
    assert cached_figures(client, monkeypatch) == before


def test_households_fairs_certifications_and_names_show_at_once(client, monkeypatch):
    ledger = client.ledger
    before = figures(client)

    # a household's members (person-times), through the ORM and by a set-based UPDATE
    household = ledger.households["h1"]
    with unit_of_work():
        household.members += 10
    changed = figures(client)
    assert int(changed["person_times"]) > int(before["person_times"])
    with unit_of_work():
        db.session.execute(update(Household).values(members=1))
    assert figures(client)["person_times"] != changed["person_times"]

    # a fair held in the period
    held = int(figures(client)["fairs_held"])
    with unit_of_work():
        db.session.add(
            Fair(
                code="F-NEW",
                name="新集市",
                date=date(2024, 8, 8),
                venue="广场",
                district="东区",
                status=FairStatus.CLOSED,
            )
        )
    assert int(figures(client)["fairs_held"]) == held + 1

    # a certification
    certified = int(figures(client)["certified_products"])
    with unit_of_work():
        db.session.add(
            Certification(
                product_id=ledger.products["honey"].id,
                status=CertStatus.APPROVED,
                certificate_no="C-NEW",
                certified_on=date(2024, 1, 1),
                valid_until=date(2024, 1, 1) + timedelta(days=700),
            )
        )
    assert int(figures(client)["certified_products"]) == certified + 1

    # a product's name in the top list
    assert "新名字大米" not in figures(client)["tables"]
    with unit_of_work():
        ledger.products["rice"].name = "新名字大米"
    assert "新名字大米" in figures(client)["tables"]
