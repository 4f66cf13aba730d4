"""The year's household reward list in a real browser (issue 16): bureau staff log in,
open last year's list from the rewards page, check its totals and the income sources,
approve it through the confirmation page, and see it frozen."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.clock import local_today
from marketplace.models import OrgKind, Role
from orders.policy.assessments import record_assessment

from ..factories import HouseholdFactory, member_of
from ..rewards_helpers import product_for, sell

pytestmark = pytest.mark.e2e


def arrange() -> dict:
    year = local_today().year - 1
    bureau = member_of(OrgKind.BUREAU, Role.STAFF, name="海口市乡村振兴局")
    estimated = HouseholdFactory(code="460106001001", head_name="王大华")
    sell(product_for(estimated), 5000, units=2, day=date(year, 9, 1))  # 10,000 x 0.5
    assessed = HouseholdFactory(code="460106001002", head_name="李小红")
    record_assessment(
        bureau,
        bureau.memberships[0].org,
        household_code=assessed.code,
        year=year,
        net_income=1000000,  # exactly 10,000.00: the top tier
    )
    return {"bureau": bureau.email, "year": year}


def test_bureau_approves_the_years_reward_list(page, live_server, browser_auth):
    data = live_server.run(arrange)
    browser_auth.login(data["bureau"])

    page.goto("/bureau/rewards")
    page.get_by_test_id("reward-rules").wait_for()
    page.get_by_test_id("tab-households").click()
    page.get_by_test_id("list-draft").wait_for()
    assert f"{data['year']} 年度农户产业奖补名单" in page.locator("h1").inner_text()
    totals = page.get_by_test_id("households-totals").inner_text()
    assert "合计 2 户次，4,000.00 元" in totals
    rows = page.get_by_test_id("household-reward-row")
    assert rows.count() == 2
    assert "估算" in rows.nth(0).inner_text() and "1,000.00" in rows.nth(0).inner_text()
    assert "评定" in rows.nth(1).inner_text() and "3,000.00" in rows.nth(1).inner_text()

    page.get_by_test_id("approve-link").click()
    assert "2 户次，4,000.00 元" in page.get_by_test_id("approve-summary").inner_text()
    page.get_by_test_id("approve-submit").click()

    page.get_by_test_id("list-frozen").wait_for()
    assert "已批准" in page.locator(".alert-success").first.inner_text()
    assert page.get_by_test_id("approve-link").count() == 0
    assert page.get_by_test_id("no-pending").is_visible()
    assert "合计 2 户次，4,000.00 元" in page.get_by_test_id("households-totals").inner_text()
