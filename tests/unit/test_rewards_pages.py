"""The bureau's reward pages, the assessment import and `flask rewards` (issue 16,
items 1, 2 and 5): bureau-only pages with the rules shown, the year's lists with totals,
exports, approval through a confirmation page (audited, then frozen), the assessment
form and import, and the command's JSON and table."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.importing import ImportFailed, run_import
from marketplace.models import AuditEntry
from orders.policy.assessments import AssessmentsImport
from orders.policy.models import IncomeAssessment, RewardList

from ..factories import HouseholdFactory, OrgFactory, member_of
from ..rewards_helpers import YEAR, bureau_staff, in_year, product_for, sell


@pytest.fixture
def year_sold(frozen_clock):
    """Two households of YEAR: one selling 10,000 yuan through a coded vendor (estimate
    5,000: 1,000 yuan), one selling 100 yuan (estimate 50: nothing)."""
    in_year(frozen_clock, YEAR + 1)
    vendor = OrgFactory(code="V-009", name="新坡合作社")
    rich, poor = HouseholdFactory(code="460106001001"), HouseholdFactory(code="460106001002")
    sell(product_for(rich, vendor=vendor, certified_from=date(YEAR, 1, 1)), 10000)
    sell(product_for(poor, vendor=vendor), 100)
    return {"vendor": vendor, "rich": rich, "poor": poor}


@pytest.fixture
def bureau(auth):
    user = bureau_staff()
    auth.login(user.email)
    return user


def test_the_pages_are_the_bureaus_only(client, auth, year_sold):
    assert client.get("/bureau/rewards/households").status_code == 302  # log in first
    auth.login(member_of().email)
    for url in (
        "/bureau/rewards",
        f"/bureau/rewards/households?year={YEAR}",
        f"/bureau/rewards/households/{YEAR}.csv",
        f"/bureau/rewards/vendors?year={YEAR}",
        f"/bureau/rewards/vendors/{YEAR}/{year_sold['vendor'].id}",
        "/bureau/rewards/assessments",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "460106001001" not in response.get_data(as_text=True)
    assert client.post(f"/bureau/rewards/households/{YEAR}/approve").status_code == 403


def test_the_rules_in_force_are_shown(client, bureau, year_sold):
    page = client.get("/bureau/rewards").get_data(as_text=True)
    for text in ("4,000.00", "1,000.00", "10,000.00", "3,000.00", "0.5", "50,000.00"):
        assert text in page


def test_the_household_list_with_totals_and_the_income_source(client, bureau, year_sold):
    page = client.get(f"/bureau/rewards/households?year={YEAR}").get_data(as_text=True)
    assert "460106001001" in page and "460106001002" not in page
    assert "合计 1 户次，1,000.00 元" in page
    assert "估算" in page and "待批准" in page

    csv_text = client.get(f"/bureau/rewards/households/{YEAR}.csv").data.decode("utf-8-sig")
    assert "460106001001" in csv_text and "估算" in csv_text and "1 户次" in csv_text
    for url in (
        f"/bureau/rewards/households?year={YEAR}",
        f"/bureau/rewards/households/{YEAR}.csv",
        f"/bureau/rewards/assessments?year={YEAR}",
    ):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    book = load_workbook(io.BytesIO(client.get(f"/bureau/rewards/households/{YEAR}.xlsx").data))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "460106001001" in cells


def test_approving_through_the_confirmation_page_freezes_the_list(client, bureau, year_sold):
    confirm = client.get(f"/bureau/rewards/households/{YEAR}/approve").get_data(as_text=True)
    assert "1 户次，1,000.00 元" in confirm and "确认批准" in confirm
    response = client.post(
        f"/bureau/rewards/households/{YEAR}/approve", data={"count": "1", "payable": "100000"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已批准并冻结" in page and "批准名单…" not in page
    assert db.session.scalar(select(RewardList.total)) == 100000
    assert (
        db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "rewards.approve"))
        == bureau.id
    )
    again = client.post(
        f"/bureau/rewards/households/{YEAR}/approve",
        data={"count": "1", "payable": "100000"},
        follow_redirects=True,
    )
    assert "已经批准" in again.get_data(as_text=True)


def test_the_current_year_is_approved_only_once_it_has_ended(client, bureau, year_sold):
    page = client.get(f"/bureau/rewards/households?year={YEAR + 1}").get_data(as_text=True)
    assert "年度结束后才能批准名单" in page and "批准名单…" not in page
    confirm = client.get(f"/bureau/rewards/vendors/{YEAR + 1}/approve").get_data(as_text=True)
    assert "年度结束后才能批准名单" in confirm and "确认批准" not in confirm
    refused = client.post(
        f"/bureau/rewards/households/{YEAR + 1}/approve",
        data={"count": "0", "payable": "0"},
        follow_redirects=True,
    )
    assert "尚未结束" in refused.get_data(as_text=True)


def test_approval_is_refused_when_the_list_changed_since_it_was_seen(client, bureau, year_sold):
    response = client.post(
        f"/bureau/rewards/households/{YEAR}/approve",
        data={"count": "1", "payable": "200000"},
        follow_redirects=True,
    )
    assert "发生了变化" in response.get_data(as_text=True)
    assert db.session.scalar(select(RewardList.id)) is None


def test_the_vendor_list_and_its_printable_statement(client, bureau, year_sold):
    vendor = year_sold["vendor"]
    page = client.get(f"/bureau/rewards/vendors?year={YEAR}").get_data(as_text=True)
    assert "新坡合作社" in page
    statement = client.get(f"/bureau/rewards/vendors/{YEAR}/{vendor.id}")
    text = statement.get_data(as_text=True)
    assert statement.status_code == 200 and "data-print" in text
    assert "200.00" in text  # 2% of the 10,000 yuan certified
    sheet = client.get(f"/bureau/rewards/vendors/{YEAR}/{vendor.id}.xlsx")
    assert sheet.status_code == 200
    for url in (
        f"/bureau/rewards/vendors/{YEAR}.csv",
        f"/bureau/rewards/vendors/{YEAR}/{vendor.id}.csv",
    ):
        lines = list(csv.reader(io.StringIO(client.get(url).data.decode("utf-8-sig"))))
        assert {len(line) for line in lines} == {14}, url  # totals under the amount column
        assert lines[-1][0] == "应发合计" and lines[-1][-1] == "200.00"
        assert lines[1][2:4] == ["V-009", "新坡合作社"]
    assert client.get(f"/bureau/rewards/vendors/{YEAR}/{OrgFactory().id}").status_code == 404
    approved = client.post(
        f"/bureau/rewards/vendors/{YEAR}/approve", data={"count": "1", "payable": "20000"}
    )
    assert approved.status_code == 302
    assert db.session.scalar(select(RewardList.kind)) == "vendors"


def test_recording_an_assessment_on_the_page(client, bureau, year_sold):
    response = client.post(
        "/bureau/rewards/assessments",
        data={"household_code": "460106001002", "year": str(YEAR), "net_income": "8000.00"},
    )
    assert response.status_code == 302
    page = client.get(f"/bureau/rewards/households?year={YEAR}").get_data(as_text=True)
    assert "合计 2 户次，3,000.00 元" in page and "评定" in page
    wrong = client.post(
        "/bureau/rewards/assessments",
        data={"household_code": "nobody", "year": str(YEAR), "net_income": "1"},
    )
    assert wrong.status_code == 400
    assert "没有户编码为 nobody 的建档立卡户" in wrong.get_data(as_text=True)
    assert db.session.scalar(
        select(AuditEntry.action).where(AuditEntry.action == "rewards.assessment")
    )


def test_the_assessment_import_creates_and_updates(year_sold):
    data = (
        "household_code,year,net_income,assessed_by\n"
        f"460106001001,{YEAR},4000.00,村两委\n"
        f"460106001002,{YEAR},3999.99,\n"
    ).encode()
    assert run_import(AssessmentsImport(), data).line() == "assessments: 2 created, 0 updated"
    again = f"household_code,year,net_income\n460106001002,{YEAR},8000\n".encode()
    assert run_import(AssessmentsImport(), again).line() == "assessments: 0 created, 1 updated"
    incomes = dict(
        db.session.execute(select(IncomeAssessment.household_id, IncomeAssessment.net_income)).all()
    )
    assert incomes == {year_sold["rich"].id: 400000, year_sold["poor"].id: 800000}
    bad = (
        "household_code,year,net_income\n"
        f"nobody,{YEAR},1\n460106001001,{YEAR},1\n460106001001,{YEAR},2\n460106001001,1990,1\n"
    ).encode()
    with pytest.raises(ImportFailed) as failed:
        run_import(AssessmentsImport(), bad)
    assert [str(e).split(":")[0:2] for e in failed.value.errors] == [
        ["row 2", " household_code"],
        ["row 4", " household_code"],
        ["row 5", " year"],
    ]


def test_the_command_prints_the_contract_json_and_a_table(runner, year_sold):
    result = runner.invoke(args=["rewards", "households", "--year", str(YEAR), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "year": YEAR,
        "tiers": [
            {"threshold": "4000.00", "reward": "1000.00"},
            {"threshold": "8000.00", "reward": "2000.00"},
            {"threshold": "10000.00", "reward": "3000.00"},
        ],
        "households": [
            {
                "household_code": "460106001001",
                "income": "5000.00",
                "income_source": "estimate",
                "tier_reward": "1000.00",
            }
        ],
        "count": 1,
        "total": "1000.00",
    }
    table = runner.invoke(args=["rewards", "households", "--year", str(YEAR)])
    assert "1 household-times, 1,000.00 yuan" in table.output
    assert "460106001001" in table.output and "estimate" in table.output
    vendors = runner.invoke(args=["rewards", "vendors", "--year", str(YEAR), "--format", "json"])
    assert json.loads(vendors.output)["total"] == "200.00"
    assert "V-009" in runner.invoke(args=["rewards", "vendors", "--year", str(YEAR)]).output
    refused = runner.invoke(args=["rewards", "vendors", "--year", "1999"])
    assert refused.exit_code == 1 and "error:" in refused.output
    assert runner.invoke(args=["rewards", "vendors"]).exit_code == 2  # --year is required
