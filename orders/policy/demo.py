"""Demo assessments: village cadres assessed the net agricultural income of a dozen of
last year's linked households (the first by code), a few exactly at a reward threshold
or one fen below, so the bureau's reward list shows assessed incomes beside estimates."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.unit_of_work import unit_of_work
from orders.ledger.models import Attribution
from orders.policy.lists import year_bounds
from orders.policy.models import IncomeAssessment

# fen: at and below each tier of the default REWARD_TIERS, and some in between
INCOMES = [400000, 399999, 800000, 799999, 1000000, 999999, 620000, 1250000, 350000, 880000]
ASSESSORS = ["仁南村两委", "博学村两委", "道美村两委"]


def load_rewards_demo() -> bool:
    """Loads once, after the ledger's demo (it assesses households that sold last year)."""
    if db.session.scalar(select(IncomeAssessment.id).limit(1)) is not None:
        return False
    year = local_today().year - 1
    start, end = year_bounds(year)
    households = list(
        db.session.scalars(
            select(Attribution.household_id)
            .where(
                Attribution.household_id.is_not(None),
                Attribution.sale_date >= start,
                Attribution.sale_date <= end,
            )
            .group_by(Attribution.household_id)
            .order_by(Attribution.household_id)
            .limit(len(INCOMES))
        )
    )
    if not households:
        return False
    with unit_of_work():
        for n, (household_id, income) in enumerate(zip(households, INCOMES, strict=False)):
            db.session.add(
                IncomeAssessment(
                    household_id=household_id,
                    year=year,
                    net_income=income,
                    assessed_by=ASSESSORS[n % len(ASSESSORS)],
                )
            )
    return True
