"""The bureau's dashboard is computed once per period and place and served from the cache
until a change to what it reads commits: a sale, a refund, an import, a household's
members, a fair, a certification, a product's name each show at once; a change that
rolls back drops nothing (orders.reports.freshness)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from catalog.models import Certification, CertStatus
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.importing import run_import
from marketplace.models import Household, OrgKind, Role
from marketplace.unit_of_work import unit_of_work
from orders.fairs.models import Fair, FairStatus
from orders.ledger.imports import SalesImport
from orders.ledger.models import MONTH_ROWS, Channel, Order, SalesRollup
from orders.ledger.rollup import CLOSED_AREA, REPORTS_AREA
from orders.ledger.services import SaleItem, record_paid_sale, refund
from orders.reports import views
from orders.reports.source import Period, raw_rows
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


def _parts_computed(monkeypatch) -> list:
    """The periods ``monthly_parts`` is computed for from now on."""
    seen = []
    real = views.monthly_parts

    def recording(period):
        seen.append(period)
        return real(period)

    monkeypatch.setattr(views, "monthly_parts", recording)
    return seen


def _fresh_raw_figures(client, path: str = WHOLE) -> dict[str, str]:
    """The page computed afresh from the attribution rows (nothing cached, no rollup)."""
    for area in (REPORTS_AREA, CLOSED_AREA):
        bump(area)
    with raw_rows():
        return figures(client, path)


THIS_YEAR = "/bureau/reports?from={year}-01-01&to={year}-12-31"


def test_a_sale_today_recomputes_only_the_current_month(client, monkeypatch):
    """The months before the current one come from their own cache entry: a sale or a
    refund dated today drops the page but not them, and the page still equals the
    figures computed from the raw rows."""
    today = local_today()
    year_path = THIS_YEAR.format(year=today.year)
    figures(client), figures(client, year_path)
    seen = _parts_computed(monkeypatch)

    sale = _sale(client, day=today)
    after = figures(client)
    year_after = figures(client, year_path)
    start = today.replace(day=1)
    assert seen == [Period(start, None), Period(start, date(today.year, 12, 31))]
    assert after == _fresh_raw_figures(client)
    assert year_after == _fresh_raw_figures(client, year_path)

    seen.clear()
    figures(client)  # computes the closed months once more (dropped just above)
    seen.clear()
    refund(sale, [(sale.lines[0].id, 1)], reason="退货")
    refunded = figures(client)
    assert seen == [Period(start, None)]
    assert refunded == _fresh_raw_figures(client)
    assert refunded["total_amount"] != after["total_amount"]


def test_a_write_dated_in_a_closed_month_drops_the_closed_months(client, monkeypatch):
    """A sale dated back, a refund of an earlier month's sale and an import into an old
    month each recompute the closed months; the page equals the raw rows' figures."""
    today = local_today()
    _sale(client, day=today)
    figures(client)
    seen = _parts_computed(monkeypatch)
    closed = Period(None, today.replace(day=1) - timedelta(days=1))

    old = _sale(client)  # dated 2024-07-15
    page = figures(client)
    assert closed in seen
    assert page == _fresh_raw_figures(client)

    figures(client)
    seen.clear()
    refund(old, [(old.lines[0].id, 1)], reason="退货")
    page = figures(client)
    assert closed in seen
    assert page == _fresh_raw_figures(client)

    figures(client)
    seen.clear()
    run_import(SalesImport("test"), SALES_CSV.encode())
    page = figures(client)
    assert closed in seen
    assert page == _fresh_raw_figures(client)


def test_an_old_orders_counted_columns_drop_the_closed_months(client, monkeypatch):
    """An order object of a closed month changed through the ORM, or any statement on
    the orders outside a dated paid batch, drops the closed months; a change to a column
    they do not read does not."""
    old = _sale(client)
    figures(client)
    seen = _parts_computed(monkeypatch)
    closed = Period(None, local_today().replace(day=1) - timedelta(days=1))
    db.session.refresh(old)
    with unit_of_work():
        old.note = "只改备注"
    figures(client)
    assert closed not in seen
    with unit_of_work():
        old.shipping_fen = 800
    page = figures(client)
    assert closed in seen
    assert page == _fresh_raw_figures(client)
    figures(client)
    seen.clear()
    with unit_of_work():
        db.session.execute(update(Order).where(Order.id == old.id).values(note="再改"))
    figures(client)
    assert closed in seen


def test_a_period_before_this_month_outlives_todays_sales(client, monkeypatch):
    """A period ending before the current month is served from the cache after a sale
    dated today; a household's members, a product's name or a sale dated in it show."""
    before = figures(client, CUT)
    _sale(client, day=local_today())
    assert cached_figures(client, monkeypatch, CUT) == before

    with unit_of_work():
        client.ledger.households["h1"].members += 10
    changed = figures(client, CUT)
    assert int(changed["person_times"]) > int(before["person_times"])
    with unit_of_work():
        client.ledger.products["rice"].name = "新名字大米"
    assert "新名字大米" in figures(client, CUT)["tables"]
    _sale(client)  # dated 2024-07-15, in the period
    page = figures(client, CUT)
    assert page["total_amount"] != changed["total_amount"]
    assert page == _fresh_raw_figures(client, CUT)


def test_a_rollup_row_of_a_closed_month_deleted_drops_the_closed_months(client, monkeypatch):
    """A rollup row deleted through the ORM: of the current month, the closed months
    stay; of an earlier month, they are computed again."""
    today = local_today()
    _sale(client, day=today)
    figures(client)
    seen = _parts_computed(monkeypatch)
    closed = Period(None, today.replace(day=1) - timedelta(days=1))
    rows = db.session.scalars(select(SalesRollup).where(SalesRollup.span == MONTH_ROWS)).all()
    current = next(r for r in rows if r.month == today.replace(day=1))
    earlier = next(r for r in rows if r.month < today.replace(day=1))
    with unit_of_work():
        db.session.delete(current)
    figures(client)
    assert closed not in seen
    with unit_of_work():
        db.session.delete(earlier)
    figures(client)
    assert closed in seen
