"""优先帮扶: the public catalogue features products whose benefit links in force include
households at risk of falling back (a red or yellow light in the register).

The feature itself says something about a group of households, so it follows the
publication rule (marketplace/publication.py): a product is featured only when at least
``MIN_GROUP`` of the households its links in force help are at risk. Fewer, and the
product looks exactly like any other (no badge, not in the section or the filter), so
neither its presence nor its absence describes one or two households. A count of the
at-risk households is printed only where the kernel publishes it beside the product's
total (complementary suppression: never when the rest would be a group of one or two).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Select, and_, func, select

from marketplace.extensions import db
from marketplace.models import Household, RiskLight
from marketplace.publication import MIN_GROUP, Aggregate, Counts, publish_tables

from .links import current_versions, in_force_join
from .models import BenefitLink, Product

AT_RISK = (RiskLight.RED, RiskLight.YELLOW)


def _at_risk_counts(day: date, product_ids=None) -> Select:
    """(product_id, at-risk households) of the links in force on ``day``."""
    current = current_versions(day, product_ids)
    return (
        select(
            BenefitLink.product_id,
            func.count(func.distinct(BenefitLink.household_id)).label("at_risk"),
        )
        .join(current, and_(*in_force_join(current)))
        .join(Household, Household.id == BenefitLink.household_id)
        .where(Household.risk_light.in_(AT_RISK))
        .group_by(BenefitLink.product_id)
    )


def priority_clause(day: date):
    """SQL condition on Product: featured as 优先帮扶 on ``day``. Correlated to the outer
    product, so the public list (ordered by an index, LIMITed to a page) counts the
    at-risk links of the products it walks through, not of the whole catalogue."""
    in_force = (
        select(func.max(BenefitLink.valid_from))
        .where(BenefitLink.product_id == Product.id, BenefitLink.valid_from <= day)
        .correlate(Product)
        .scalar_subquery()
    )
    at_risk = (
        select(func.count(func.distinct(BenefitLink.household_id)))
        .join(Household, Household.id == BenefitLink.household_id)
        .where(
            BenefitLink.product_id == Product.id,
            BenefitLink.valid_from == in_force,
            Household.risk_light.in_(AT_RISK),
        )
        .correlate(Product)
        .scalar_subquery()
    )
    return at_risk >= MIN_GROUP


def priority_ids(product_ids: Iterable[int], day: date) -> set[int]:
    """Which of ``product_ids`` are featured as 优先帮扶 (one query, for a page of cards)."""
    ids = sorted(set(product_ids))
    if not ids:
        return set()
    counts = _at_risk_counts(day, ids).subquery()
    return set(db.session.scalars(select(counts.c.product_id).where(counts.c.at_risk >= MIN_GROUP)))


def priority_impact(product_id: int, day: date) -> Aggregate | None:
    """For the product page: None when the product is not featured; else how many of its
    households are at risk, withheld (``households`` None) unless the kernel publishes it
    beside the product's total without exposing the others as a small group."""
    rows = db.session.execute(
        select(Household.risk_light, func.count(func.distinct(BenefitLink.household_id)))
        .select_from(BenefitLink)
        .join(
            current := current_versions(day, [product_id]),
            and_(*in_force_join(current)),
        )
        .join(Household, Household.id == BenefitLink.household_id)
        .where(BenefitLink.product_id == product_id)
        .group_by(Household.risk_light)
    ).all()
    per_light = dict(rows)
    at_risk = sum(per_light.get(light, 0) for light in AT_RISK)
    if at_risk < MIN_GROUP:
        return None
    total = sum(per_light.values())
    _total, (split,) = publish_tables(
        Counts(total), [("at_risk", Counts(at_risk)), ("others", Counts(total - at_risk))]
    )
    return split[0]
