"""Benefit links (带贫关系): which households a product's sales are attributed to, in
versions by the day they take effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import joinedload

from marketplace.bulk import bulk_insert, chunks
from marketplace.extensions import db
from marketplace.models import Household, utcnow

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


def villages_in_force(product_id: int, day: date) -> list[int | None]:
    """The village of each household of ``links_in_force`` (None: unknown), in one
    query."""
    version = (
        select(func.max(BenefitLink.valid_from))
        .where(BenefitLink.product_id == product_id, BenefitLink.valid_from <= day)
        .scalar_subquery()
    )
    return list(
        db.session.scalars(
            select(Household.village_id)
            .join(BenefitLink, BenefitLink.household_id == Household.id)
            .where(BenefitLink.product_id == product_id, BenefitLink.valid_from == version)
        )
    )


VERSION_CHUNK = 1000  # (product, valid_from) pairs per DELETE: 2,000 parameters


def replace_link_versions(versions: dict[tuple[int, date], Sequence[tuple[int, Decimal]]]) -> None:
    """``replace_link_version`` for many (product id, valid_from) versions at once, set
    based (an import's): one DELETE per chunk of versions, then every link in one bulk
    insert. Runs in the caller's transaction."""
    keys = sorted(versions)
    for chunk in chunks(keys, VERSION_CHUNK):
        db.session.execute(
            delete(BenefitLink).where(
                tuple_(BenefitLink.product_id, BenefitLink.valid_from).in_(chunk)
            )
        )
    now = utcnow()
    bulk_insert(
        BenefitLink.__table__,
        [
            {
                "product_id": product_id,
                "household_id": household_id,
                "weight": weight,
                "valid_from": valid_from,
                "certification_id": None,
                "created_at": now,
            }
            for (product_id, valid_from), weights in versions.items()
            for household_id, weight in weights
        ],
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


def current_versions(day: date, product_ids=None):
    """SQL: (product_id, valid_from) of each product's version in force on ``day``, as a
    subquery to join ``BenefitLink`` on, so a query over many products' links reads
    only the links in force (what ``links_in_force`` is for one product).
    ``product_ids`` (a list or a select of ids) narrows it."""
    stmt = select(
        BenefitLink.product_id, func.max(BenefitLink.valid_from).label("valid_from")
    ).where(BenefitLink.valid_from <= day)
    if product_ids is not None:
        stmt = stmt.where(BenefitLink.product_id.in_(product_ids))
    return stmt.group_by(BenefitLink.product_id).subquery("current_versions")


def in_force_join(current) -> list:
    """The join condition of ``BenefitLink`` on a ``current_versions`` subquery."""
    return [
        BenefitLink.product_id == current.c.product_id,
        BenefitLink.valid_from == current.c.valid_from,
    ]
