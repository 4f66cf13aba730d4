"""Approving a year's reward list is a one-time act (issue 16): six tabs of the bureau
approving the same list at once, through the real routes under gunicorn on PostgreSQL,
freeze it once, audit it once, and answer every other tab with a clear message, never
a 500."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.policy.models import HouseholdReward, RewardList

from ..conftest import TEST_PASSWORD, requires_postgres
from ..rewards_helpers import bureau_staff, household_selling
from .live_server import concurrently

pytestmark = [requires_postgres, pytest.mark.postgres]


@pytest.mark.parametrize("kind", ["households", "vendors"])
def test_six_tabs_approving_one_list_freeze_it_once(live_server, kind):
    year = local_today().year - 1
    for _ in range(3):
        household_selling(10000, day=date(year, 7, 1))  # 1,000 yuan each by estimate
    staff = bureau_staff()
    browser = live_server.browser().login(staff.email, TEST_PASSWORD)
    confirm = browser.get(f"/bureau/rewards/{kind}/{year}/approve").text
    assert "确认批准" in confirm
    # households: 3 x 1,000 yuan; vendors: three, none above the floor, nothing certified
    expected = {"count": "3", "payable": "300000" if kind == "households" else "0"}
    tabs = [browser.clone() for _ in range(6)]

    responses = concurrently(
        [partial(tab.post, f"/bureau/rewards/{kind}/{year}/approve", expected) for tab in tabs]
    )

    codes = [r.status_code for r in responses]
    assert codes == [302] * 6, f"{codes}\n{live_server.log()[-6000:]}"
    messages = [m for tab, r in zip(tabs, responses, strict=True) for m in tab.flashes(r)]
    assert [level for level, _text in messages].count("success") == 1
    assert all(
        "已经批准" in text or "正在由他人批准" in text
        for level, text in messages
        if level != "success"
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RewardList)) == 1
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "rewards.approve")
        )
        == 1
    )
    if kind == "households":
        assert db.session.scalar(select(func.sum(HouseholdReward.reward))) == 300000
