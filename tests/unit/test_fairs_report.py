"""`report fairs` and the bureau's reports with fair and counter sales in them."""

from __future__ import annotations

import json
from datetime import timedelta

from marketplace.clock import local_today
from orders.fairs import counters, fairs, stalls
from orders.reports.breakdowns import Period, dimension_rows

from ..fair_helpers import organizer, stall_at_fair
from ..order_factories import FairFactory
from ..unit.test_counters import setup as counter_setup


def run_json(runner, *args):
    result = runner.invoke(args=[*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def season(runner):
    """A closed fair with sales and a void, an open one with a sale, a cancelled one."""
    closed = stall_at_fair()
    stalls.record_stall_sale(
        closed.seller,
        closed.vendor,
        closed.fair.id,
        "tok-rep-0001",
        [stalls.SaleLine(closed.product.id, 2)],
        "cash",
    )
    voided = stalls.record_stall_sale(
        closed.seller,
        closed.vendor,
        closed.fair.id,
        "tok-rep-0002",
        [stalls.SaleLine(closed.product.id, 1)],
        "wechat",
    ).sale
    stalls.void_stall_sale(closed.seller, closed.vendor, voided.id, "录错")
    fairs.close_fair(closed.organizer, closed.organizer_org, closed.fair.id)
    opened = stall_at_fair()
    stalls.record_stall_sale(
        opened.seller,
        opened.vendor,
        opened.fair.id,
        "tok-rep-0003",
        [stalls.SaleLine(opened.product.id, 1, 2000)],
        "alipay",
    )
    boss = organizer()
    org = boss.memberships[0].org
    cancelled = fairs.plan_fair(
        boss, org, fairs.FairPlan("取消的集市", local_today(), "广场", "秀英区")
    )
    fairs.cancel_fair(boss, org, cancelled.id, "台风")
    return closed, opened, cancelled


def test_fairs_held_counts_closed_and_open_fairs_but_not_cancelled_ones(runner):
    season(runner)
    FairFactory(date=local_today() - timedelta(days=400), status="closed")  # outside
    day = local_today().isoformat()
    report = run_json(runner, "report", "fairs", "--from", day, "--to", day)
    assert report["fairs_held"] == 2
    assert {f["status"] for f in report["fairs"]} == {"closed", "open", "cancelled"}
    assert report["amount"] == "70.00"  # 50.00 closed (the void gave back 25.00) + 20.00
    assert report["households_driven"] == 4  # two households linked to each product


def test_report_fairs_agrees_with_report_summary(runner):
    season(runner)
    _ru, _r, store, vendor, seller, product = counter_setup()
    counters.report_counter_sales(
        seller,
        vendor,
        store.id,
        vendor.id,
        local_today(),
        local_today(),
        [counters.ReportLine(product.id, 1, 1000)],
    )
    for period in ([], ["--from", local_today().isoformat()], ["--to", "2020-01-01"]):
        fairs_ = run_json(runner, "report", "fairs", *period)
        summary = run_json(runner, "report", "summary", *period)
        assert (fairs_["from"], fairs_["to"]) == (summary["from"], summary["to"])
        assert fairs_["fairs_held"] == summary["fairs_held"]
        assert fairs_["amount"] == summary["channels"]["fair"]["amount"]
        total = sum(int(f["amount"].replace(".", "")) for f in fairs_["fairs"])
        assert f"{total // 100}.{total % 100:02d}" == fairs_["amount"]
    assert summary_amount(runner, "counter") == "10.00"


def summary_amount(runner, channel):
    return run_json(runner, "report", "summary")["channels"][channel]["amount"]


def test_the_table_prints_the_season_line(runner):
    season(runner)
    result = runner.invoke(args=["report", "fairs"])
    assert result.exit_code == 0
    assert "2 fairs held, 70.00 yuan sold, 4 households driven" in result.output
    bad = runner.invoke(args=["report", "fairs", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert bad.exit_code != 0


def test_breakdowns_by_fair_and_by_store_include_the_new_sales():
    closed, opened, _c = season(None)
    _ru, _r, store, vendor, seller, product = counter_setup()
    counters.report_counter_sales(
        seller,
        vendor,
        store.id,
        vendor.id,
        local_today(),
        local_today(),
        [counters.ReportLine(product.id, 2, 2000)],
    )
    by_fair = {row.key: (row.label, row.amount) for row in dimension_rows("fair", Period())}
    assert by_fair == {
        closed.fair.id: (closed.fair.name, 5000),
        opened.fair.id: (opened.fair.name, 2000),
    }
    by_store = {row.label: row.amount for row in dimension_rows("counter", Period())}
    assert by_store == {"椰城超市国贸店": 2000}


def test_the_dashboard_shows_the_fair_season_line(client, auth):
    from marketplace.models import OrgKind, Role

    from ..factories import member_of

    season(None)
    staff = member_of(OrgKind.BUREAU, Role.STAFF)
    auth.login(staff.email)
    page = client.get("/bureau/reports").get_data(as_text=True)
    assert "举办 2 场，销售 70.00 元，带动 4 户" in page
