"""Household industry rewards (issue 16, item 1): per year and household, the ledger's
attributed sales and the assessed (or estimated) net income; the highest tier reached;
approval freezes the year's list, and a later refund or assessment shows as a
difference carried into the next list."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.config import ConfigError, load_config
from marketplace.errors import Forbidden, IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.policy import rewards
from orders.policy.assessments import record_assessment
from orders.policy.models import HouseholdReward, RewardList
from orders.policy.rules import Rules

from ..factories import HouseholdFactory, member_of
from ..rewards_helpers import (
    YEAR,
    bureau_staff,
    household_selling,
    in_year,
    product_for,
    refund_units,
    sell,
)

DEFAULT = Rules(
    tiers=((400000, 100000), (800000, 200000), (1000000, 300000)),
    income_ratio=Decimal("0.5"),
    per_household=10000,
    floor=10,
    subsidy_percent=Decimal("2"),
    subsidy_cap=5000000,
)


@pytest.fixture
def bureau(frozen_clock):
    in_year(frozen_clock, YEAR + 1)
    user = bureau_staff()
    return user, user.memberships[0].org


def assess(bureau, household, yuan_fen: int, year: int = YEAR):
    user, org = bureau
    return record_assessment(
        user, org, household_code=household.code, year=year, net_income=yuan_fen
    )


def rows_by_code(result) -> dict[str, tuple]:
    return {r.household.code: (r.income, r.income_source, r.reward) for r in result.rows}


# ---------------------------------------------------------------- tiers


@pytest.mark.parametrize(
    ("income", "reward"),
    [
        (399999, 0),
        (400000, 100000),
        (799999, 100000),
        (800000, 200000),
        (999999, 200000),
        (1000000, 300000),
        (99999999, 300000),  # the highest tier only, never the sum
    ],
)
def test_tier_boundaries_exactly_and_one_fen_below(income, reward):
    assert DEFAULT.tier(income)[1] == reward


def test_tier_boundaries_on_the_list_from_assessments(bureau):
    incomes = [399999, 400000, 799999, 800000, 999999, 1000000]
    households = [HouseholdFactory() for _ in incomes]
    for household, income in zip(households, incomes, strict=True):
        assess(bureau, household, income)
    result = rewards.household_list(*bureau, YEAR)
    got = rows_by_code(result)
    assert households[0].code not in got  # 3,999.99: below the first tier, not listed
    assert [got[h.code][2] for h in households[1:]] == [100000, 100000, 200000, 200000, 300000]
    assert (result.count, result.total) == (5, 900000)


def test_the_configured_tiers_are_read_and_checked(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["REWARD_TIERS"] == DEFAULT.tiers
    assert config["REWARD_INCOME_RATIO"] == Decimal("0.5")
    custom = load_config(str(tmp_path), {"REWARD_TIERS": "3000:500,6000.50:1500"})
    assert custom["REWARD_TIERS"] == ((300000, 50000), (600050, 150000))
    for bad in ("4000", "8000:2000,4000:1000", "0:100", "abc:1"):
        with pytest.raises(ConfigError):
            load_config(str(tmp_path), {"REWARD_TIERS": bad})
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"REWARD_INCOME_RATIO": "1.5"})
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"VENDOR_REWARD_FLOOR": "-1"})


# ---------------------------------------------------------------- income: assessed or estimated


def test_without_an_assessment_the_income_is_an_estimate_from_the_ledger(bureau, app, monkeypatch):
    estimated = household_selling(10000)  # x 0.5 = 5,000: the first tier
    assessed = household_selling(10000)
    assess(bureau, assessed, 800000)  # cadres assessed 8,000: the second tier
    result = rewards.household_list(*bureau, YEAR)
    got = rows_by_code(result)
    assert got[estimated.code] == (500000, "estimate", 100000)
    assert got[assessed.code] == (800000, "assessed", 200000)
    assert {r.household.code: r.attributed for r in result.rows} == {
        estimated.code: 1000000,
        assessed.code: 1000000,
    }

    monkeypatch.setitem(app.config, "REWARD_INCOME_RATIO", Decimal("0.8"))
    got = rows_by_code(rewards.household_list(*bureau, YEAR))
    assert got[estimated.code] == (800000, "estimate", 200000)  # the ratio is configured
    assert got[assessed.code] == (800000, "assessed", 200000)  # an assessment is not


def test_the_estimate_rounds_half_up_to_the_fen_and_counts_all_channels_net_of_refunds(bureau):
    from orders.ledger.models import Channel

    household = HouseholdFactory()
    product = product_for(household)
    sell(product, 5000, channel=Channel.PROCUREMENT)
    order = sell(product, 1000, units=4, channel=Channel.ONLINE)
    sell(product, 1, day=date(YEAR + 1, 1, 1))  # next year: not counted
    refund_units(order, 1)
    row = next(iter(rewards.household_list(*bureau, YEAR).rows))
    assert row.attributed == 800000  # 5,000 + 4,000 - 1,000
    assert row.income == 400000
    assert DEFAULT.estimate(1) == 1  # 0.5 fen, half up
    assert DEFAULT.estimate(799999) == 400000  # 3,999.995 -> 4,000.00: the tier is reached


def test_sale_dates_are_local_dates(bureau):
    household = HouseholdFactory()
    sell(product_for(household), 10000, day=date(YEAR, 12, 31))
    assert rewards.household_list(*bureau, YEAR).count == 1
    assert rewards.household_list(*bureau, YEAR + 1).count == 0


# ---------------------------------------------------------------- approval freezes the list


def test_a_refund_after_approval_is_a_difference_for_the_next_list(
    bureau, frozen_clock, app, monkeypatch, runner
):
    monkeypatch.setitem(app.config, "REWARD_INCOME_RATIO", Decimal("1"))
    household = HouseholdFactory()
    order = sell(product_for(household), 2000, units=4)  # 8,000 yuan: 2,000 reward
    steady = household_selling(4000)
    user, org = bureau
    approved = rewards.approve_households(user, org, YEAR, expected=(2, 300000))
    assert (approved.count, approved.total, approved.differences) == (2, 300000, 0)

    refund_units(order, 1)  # now 6,000 yuan: 1,000 reward
    result = rewards.household_list(user, org, YEAR)
    assert result.approved is not None
    assert rows_by_code(result)[household.code] == (800000, "estimate", 200000)  # unchanged
    assert (result.count, result.total) == (2, 300000)
    assert [(r.household.code, r.reward, r.paid) for r in result.pending] == [
        (household.code, -100000, 200000)
    ]
    frozen_json = runner.invoke(
        args=["rewards", "households", "--year", str(YEAR), "--format", "json"]
    )
    assert json.loads(frozen_json.output)["total"] == "3000.00"  # as approved

    # the next year's list carries the difference, and its approval freezes it
    in_year(frozen_clock, YEAR + 2)
    sell(product_for(steady), 4000, day=date(YEAR + 1, 3, 1))
    following = rewards.household_list(user, org, YEAR + 1)
    assert [(r.year, r.household.code, r.reward) for r in following.differences] == [
        (YEAR, household.code, -100000)
    ]
    assert (following.total, following.differences_total, following.payable) == (
        100000,
        -100000,
        0,
    )
    table = runner.invoke(args=["rewards", "households", "--year", str(YEAR + 1)]).output
    assert f"difference for {YEAR}: {household.code} -1,000.00" in table
    assert "payable 0.00 yuan" in table
    rewards.approve_households(user, org, YEAR + 1)
    assert rewards.household_list(user, org, YEAR).pending == []  # settled, once
    assert rewards.household_list(user, org, YEAR + 2).differences == []
    paid = db.session.scalar(
        select(func.sum(HouseholdReward.reward)).where(
            HouseholdReward.household_id == household.id, HouseholdReward.year == YEAR
        )
    )
    assert paid == 100000  # what the household is owed for the year now


def test_an_assessment_after_approval_is_a_difference_too(bureau):
    household = household_selling(7000)  # estimate 3,500: nothing
    user, org = bureau
    rewards.approve_households(user, org, YEAR)
    assert rewards.household_list(user, org, YEAR).count == 0
    assess(bureau, household, 1000000)
    result = rewards.household_list(user, org, YEAR)
    assert result.count == 0
    assert [(r.household.code, r.income_source, r.reward) for r in result.pending] == [
        (household.code, "assessed", 300000)
    ]


def test_approval_after_the_year_once_audited_and_as_seen(bureau, frozen_clock):
    household_selling(10000)
    user, org = bureau
    with pytest.raises(ValidationError):
        rewards.approve_households(user, org, YEAR + 1)  # the current year has not ended
    with pytest.raises(IllegalTransition):
        rewards.approve_households(user, org, YEAR, expected=(1, 999))  # changed since seen
    assert db.session.scalar(select(func.count()).select_from(RewardList)) == 0

    rewards.approve_households(user, org, YEAR, expected=(1, 100000))
    with pytest.raises(IllegalTransition):
        rewards.approve_households(user, org, YEAR)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rewards.approve"))
    assert entry.actor_id == user.id
    assert entry.changes == {
        "kind": "households",
        "year": YEAR,
        "count": 1,
        "total": 100000,
        "differences": 0,
    }


def test_a_changed_configuration_does_not_change_an_approved_list(bureau, app, monkeypatch):
    household = household_selling(10000)
    user, org = bureau
    rewards.approve_households(user, org, YEAR)
    monkeypatch.setitem(app.config, "REWARD_TIERS", ((100, 777),))
    result = rewards.household_list(user, org, YEAR)
    assert rows_by_code(result)[household.code][2] == 100000
    assert result.pending == []
    assert result.rules.tiers == DEFAULT.tiers


def test_only_the_bureau_reads_and_approves(bureau):
    vendor_staff = member_of()
    org = vendor_staff.memberships[0].org
    with pytest.raises(Forbidden):
        rewards.household_list(vendor_staff, org, YEAR)
    with pytest.raises(Forbidden):
        rewards.approve_households(vendor_staff, org, YEAR)
