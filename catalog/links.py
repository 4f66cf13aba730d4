"""Benefit links (带贫关系): which households a product's sales are attributed to, in
versions by the day they take effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import utcnow

from .models import ALWAYS, BenefitLink


def links_in_force(product_id: int, day: date) -> list[BenefitLink]:
    """The links of the version with the latest valid_from on or before ``day``."""
    version = db.session.scalar(
        select(func.max(BenefitLink.valid_from)).where(
            BenefitLink.product_id == product_id, BenefitLink.valid_from <= day
        )
    )
    if version is None:
        return []
    return list(
        db.session.scalars(
            select(BenefitLink)
            .options(joinedload(BenefitLink.household))
            .where(BenefitLink.product_id == product_id, BenefitLink.valid_from == version)
            .order_by(BenefitLink.household_id)
        )
    )


def replace_link_version(
    product_id: int,
    valid_from: date | None,
    weights: Sequence[tuple[int, Decimal]],
    certification_id: int | None = None,
) -> None:
    """Replace the whole set of links of one (product, valid_from) version. Runs in the
    caller's transaction."""
    valid_from = valid_from or ALWAYS
    db.session.execute(
        delete(BenefitLink).where(
            BenefitLink.product_id == product_id, BenefitLink.valid_from == valid_from
        )
    )
    if weights:
        now = utcnow()
        db.session.execute(
            insert(BenefitLink),
            [
                {
                    "product_id": product_id,
                    "household_id": household_id,
                    "weight": weight,
                    "valid_from": valid_from,
                    "certification_id": certification_id,
                    "created_at": now,
                }
                for household_id, weight in weights
            ],
        )
