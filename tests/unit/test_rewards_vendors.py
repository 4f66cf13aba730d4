"""Vendor rewards and subsidies (issue 16, item 2): per vendor and year, the households
driven, the amount attributed, sales by channel and certified sales; a reward per
household driven above the floor; a transport subsidy as a percentage of certified
sales, capped per vendor; approval freezes the list; a statement per vendor."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketplace.errors import NotFound
from orders.ledger.models import Channel
from orders.policy import vendor_rewards
from orders.policy.rules import Rules

from ..factories import HouseholdFactory, OrgFactory
from ..rewards_helpers import YEAR, bureau_staff, in_year, product_for, refund_units, sell

RULES = Rules(
    tiers=((400000, 100000),),
    income_ratio=Decimal("0.5"),
    per_household=10000,  # 100 yuan
    floor=10,
    subsidy_percent=Decimal("2"),
    subsidy_cap=5000000,  # 50,000 yuan
)


@pytest.fixture
def bureau(frozen_clock, app, monkeypatch):
    in_year(frozen_clock, YEAR + 1)
    monkeypatch.setitem(app.config, "VENDOR_REWARD_FLOOR", 1)
    monkeypatch.setitem(app.config, "VENDOR_REWARD_PER_HOUSEHOLD", 10000)
    monkeypatch.setitem(app.config, "TRANSPORT_SUBSIDY_PERCENT", Decimal("2"))
    monkeypatch.setitem(app.config, "TRANSPORT_SUBSIDY_CAP", 5000000)
    user = bureau_staff()
    return user, user.memberships[0].org


def test_reward_per_household_above_the_floor():
    assert RULES.vendor_reward(0) == 0
    assert RULES.vendor_reward(10) == 0  # at the floor: nothing yet
    assert RULES.vendor_reward(11) == 10000
    assert RULES.vendor_reward(25) == 150000


def test_transport_subsidy_is_a_percentage_capped_per_vendor():
    assert RULES.transport_subsidy(0) == 0
    assert RULES.transport_subsidy(-500) == 0  # refunds outweighing sales: no subsidy
    assert RULES.transport_subsidy(25) == 1  # 0.5 fen, half up
    assert RULES.transport_subsidy(100_000_000) == 2_000_000  # 2% of 1,000,000 yuan
    assert RULES.transport_subsidy(250_000_000) == 5_000_000  # exactly the cap
    assert RULES.transport_subsidy(250_000_100) == 5_000_000  # above it: the cap
    assert RULES.transport_subsidy(249_999_950) == 4_999_999


@pytest.fixture
def coop():
    """A cooperative driving three households in YEAR: a certified product (two
    households) sold online and at a counter, an uncertified one (a third) at a fair."""
    vendor = OrgFactory(code="V-001", name="仁南合作社")
    a, b, c = HouseholdFactory(), HouseholdFactory(), HouseholdFactory()
    certified = product_for(a, b, vendor=vendor, certified_from=date(YEAR, 1, 1))
    plain = product_for(c, vendor=vendor)
    online = sell(certified, 100, units=10, channel=Channel.ONLINE)
    sell(certified, 500, channel=Channel.COUNTER)
    sell(plain, 300, channel=Channel.PROCUREMENT, day=date(YEAR, 12, 31))
    return {"vendor": vendor, "online": online, "households": (a, b, c)}


def test_a_vendors_figures_for_the_year(bureau, coop):
    other = OrgFactory(code="V-002")
    sell(product_for(vendor=other), 50, day=date(YEAR, 5, 5))  # no links: unattributed
    result = vendor_rewards.vendor_list(*bureau, YEAR)
    row = next(r for r in result.rows if r.vendor_id == coop["vendor"].id)
    assert row.households_driven == 3
    assert (row.online, row.counter, row.procurement, row.fair) == (100000, 50000, 30000, 0)
    assert row.attributed == 180000
    assert row.certified_sales == 150000
    assert row.reward == 2 * 10000  # 3 driven, floor 1
    assert row.transport_subsidy == 3000  # 2% of 1,500 yuan
    unlinked = next(r for r in result.rows if r.vendor_id == other.id)
    assert (unlinked.households_driven, unlinked.attributed, unlinked.counter) == (0, 0, 5000)
    assert result.total == 23000
    assert result.to_json() == {
        "year": YEAR,
        "vendors": [
            {
                "vendor_code": "V-001",
                "households_driven": 3,
                "attributed": "1800.00",
                "certified_sales": "1500.00",
                "reward": "200.00",
                "transport_subsidy": "30.00",
            },
            {
                "vendor_code": "V-002",
                "households_driven": 0,
                "attributed": "0.00",
                "certified_sales": "0.00",
                "reward": "0.00",
                "transport_subsidy": "0.00",
            },
        ],
        "total": "230.00",
    }


def test_the_subsidy_cap_applies_to_each_vendor(bureau, coop, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRANSPORT_SUBSIDY_CAP", 2000)  # 20 yuan
    rich = OrgFactory()
    sell(product_for(vendor=rich, certified_from=date(YEAR, 1, 1)), 100000)
    result = vendor_rewards.vendor_list(*bureau, YEAR)
    subsidies = {r.vendor_id: r.transport_subsidy for r in result.rows}
    assert subsidies == {coop["vendor"].id: 2000, rich.id: 2000}


def test_a_refund_after_approval_shows_as_a_difference(bureau, coop, frozen_clock):
    user, org = bureau
    approved = vendor_rewards.approve_vendors(user, org, YEAR, expected=(1, 23000))
    assert (approved.count, approved.total) == (1, 23000)
    refund_units(coop["online"], 10)  # the whole online sale: 1,000 yuan certified
    result = vendor_rewards.vendor_list(user, org, YEAR)
    assert result.rows[0].transport_subsidy == 3000  # frozen
    assert [(r.reward, r.transport_subsidy) for r in result.pending] == [(0, -2000)]
    statement = vendor_rewards.vendor_statement(user, org, YEAR, coop["vendor"].id)
    assert statement.payable == 23000 and statement.pending[0].amount == -2000

    in_year(frozen_clock, YEAR + 2)
    following = vendor_rewards.vendor_list(user, org, YEAR + 1)
    assert [(r.year, r.transport_subsidy) for r in following.differences] == [(YEAR, -2000)]
    assert following.payable == -2000


def test_a_vendor_off_the_list_has_no_statement(bureau, coop):
    with pytest.raises(NotFound):
        vendor_rewards.vendor_statement(*bureau, YEAR, OrgFactory().id)
