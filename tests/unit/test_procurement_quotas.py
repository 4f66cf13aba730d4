"""Agencies' reserved shares: reserved = budget x ratio (fen, half up), "no canteen",
the bureau's minimum and corrections (audited), and the progress figures counting shop
procurement and imported 832 purchases alike, as `report quotas` prints them."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.errors import Forbidden, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry, OrgKind, Role
from orders.procurement import quotas
from orders.procurement.models import reserved_amount

from .. import procurement_helpers as h
from ..factories import DistrictFactory, member_of

YEAR = local_today().year


@pytest.fixture
def bureau():
    return member_of(OrgKind.BUREAU, Role.STAFF)


def test_reserved_is_budget_times_ratio_rounded_half_up():
    assert reserved_amount(120_000_000, 1000) == 12_000_000
    assert reserved_amount(5, 1000) == 1  # 0.5 fen -> 1
    assert reserved_amount(4, 1000) == 0  # 0.4 fen -> 0
    assert reserved_amount(15, 1000) == 2  # 1.5 fen -> 2
    assert reserved_amount(333_333, 1250) == 41_667  # 41666.625 -> 41667


def test_the_ratio_may_not_go_below_the_bureaus_minimum(bureau):
    ag = h.agency()
    with pytest.raises(ValidationError):
        quotas.declare_quota(ag.admin, ag.org, quotas.QuotaInput(YEAR, 100_000_00, 900))
    quotas.set_minimum_ratio(bureau, bureau.memberships[0].org, YEAR, 2000)
    with pytest.raises(ValidationError):
        quotas.declare_quota(ag.admin, ag.org, quotas.QuotaInput(YEAR, 100_000_00, 1500))
    quota = quotas.declare_quota(ag.admin, ag.org, quotas.QuotaInput(YEAR, 100_000_00, 2500))
    assert quota.reserved == 25_000_00


def test_only_the_agency_admin_enters_the_quota():
    ag = h.agency()
    with pytest.raises(Forbidden):
        quotas.declare_quota(ag.buyer, ag.org, quotas.QuotaInput(YEAR, 100_000_00, 1000))


def test_no_canteen_needs_a_reason_and_reserves_nothing():
    ag = h.agency()
    with pytest.raises(ValidationError):
        quotas.declare_quota(ag.admin, ag.org, quotas.QuotaInput(YEAR, no_canteen=True))
    quota = quotas.declare_quota(
        ag.admin, ag.org, quotas.QuotaInput(YEAR, no_canteen=True, no_canteen_reason="无食堂")
    )
    assert (quota.reserved, quota.budget) == (0, 0)


def test_figures_with_no_canteen_a_correction_and_an_imported_832_purchase(
    bureau, runner, tmp_path
):
    district = DistrictFactory(name="龙华区")
    edu = h.agency("海口市教育局", district=district)
    health = h.agency("海口市卫生健康委员会")
    ven = h.vendor()
    goods = h.product(ven, sku="LZ-832")
    quotas.declare_quota(edu.admin, edu.org, quotas.QuotaInput(YEAR, 1_000_000_00, 1000))
    quotas.declare_quota(
        health.admin, health.org, quotas.QuotaInput(YEAR, no_canteen=True, no_canteen_reason="外包")
    )
    # the bureau corrects the budget (audited, with the reason)
    quotas.correct_quota(
        bureau,
        bureau.memberships[0].org,
        edu.org.id,
        quotas.QuotaInput(YEAR, 1_200_000_00, 1000),
        "按财政批复更正",
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "procurement.quota_correct")
    ).one()
    assert entry.reason == "按财政批复更正"
    assert entry.changes["budget"] == {"old": 1_000_000_00, "new": 1_200_000_00}
    # shop: one order paid (20 x 62.00), one accepted (short 2: 18 x 62.00), one submitted
    h.walk(edu, ven, {goods: 20}, "paid")
    h.walk(edu, ven, {goods: 20}, "accepted", short=2)
    h.walk(edu, ven, {goods: 20}, "submitted")
    # an 832-platform purchase, imported, naming the agency as buyer
    csv_file = tmp_path / "sales.csv"
    csv_file.write_text(
        "sale_ref,channel,date,sku,quantity,unit_price,buyer\n"
        f"832-0001,procurement,{local_today().isoformat()},LZ-832,10,50.00,海口市教育局\n"
        f"832-0002,procurement,{YEAR - 1}-06-01,LZ-832,10,50.00,海口市教育局\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "sales", str(csv_file)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["report", "quotas", "--year", str(YEAR), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {row["name"]: row for row in data["agencies"]}
    assert rows["海口市教育局"] == {
        "name": "海口市教育局",
        "district": "龙华区",
        "no_canteen": False,
        "budget": "1200000.00",
        "ratio": 0.1,
        "reserved": "120000.00",
        "ordered": "4220.00",  # 3 x 1240 + 500 imported
        "accepted": "2856.00",  # 1240 + 1116 + 500
        "paid": "1740.00",  # 1240 + 500; last year's import not counted
        "percent_paid": 1.45,
    }
    assert rows["海口市卫生健康委员会"]["no_canteen"] is True
    assert rows["海口市卫生健康委员会"]["reserved"] == "0.00"
    assert rows["海口市卫生健康委员会"]["percent_paid"] is None
    assert data["total_reserved"] == "120000.00"
    assert data["total_paid"] == "1740.00"
    assert data["agencies"][0]["name"] == "海口市教育局"  # ranked by percent paid
    table = runner.invoke(args=["report", "quotas", "--year", str(YEAR)])
    assert "海口市教育局" in table.output and "1,740.00" in table.output


def test_behind_schedule_is_pro_rata_for_the_date():
    assert quotas.expected_by(36500, 2025, date(2025, 1, 1)) == 100
    assert quotas.expected_by(36500, 2025, date(2025, 12, 31)) == 36500
    assert quotas.expected_by(36500, 2024, date(2025, 3, 1)) == 36500
    assert quotas.expected_by(36500, 2026, date(2025, 3, 1)) == 0


def test_the_demo_has_two_agencies_orders_in_every_state_and_loads_once(runner):
    from catalog.demo import load_catalog_demo
    from marketplace.demo import KERNEL_STEPS
    from orders.procurement.demo import load_procurement_demo
    from orders.procurement.models import ProcurementOrder
    from vendors.demo import load_stock_demo

    for step in [*KERNEL_STEPS, load_catalog_demo, load_stock_demo]:
        step()
    assert load_procurement_demo() is True
    assert load_procurement_demo() is False
    states = set(db.session.scalars(select(ProcurementOrder.status)))
    assert states == {
        "draft", "submitted", "approved", "confirmed", "shipped", "accepted",
        "invoiced", "paid", "declined", "cancelled",
    }  # fmt: skip
    data = json.loads(runner.invoke(args=["report", "quotas", "--format", "json"]).output)
    rows = {row["name"]: row for row in data["agencies"]}
    assert rows["海口市教育局"]["reserved"] == "800000.00"
    assert rows["海口市教育局"]["percent_paid"] > 0
    assert rows["海口市卫生健康委员会"]["no_canteen"] is True
