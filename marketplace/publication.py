"""What may be published about registered households (DESIGN.md, Privacy).

A household's name and code are for bureau eyes only. Public pages (product, vendor,
order, home and impact pages) show aggregates, and never a group of fewer than
``MIN_GROUP`` households: not directly (no count of 1 or 2, no amount such a group
earned, no village named for it) and not by subtraction from the figures shown beside
it (complementary suppression). Every public aggregate goes through ``publish`` or
``publish_tables``, which return ``Aggregate`` values whose withheld figures are
``None``, so a template cannot print what it was not given.

The other side of the rule: a view that shows a household's name or code is marked
``personal_data``, and its responses are never stored by a browser or a proxy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import wraps

from flask import make_response
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Town, Village

MIN_GROUP = 3


def may_publish(households: int) -> bool:
    """The one rule: a group is described in public only when it holds no household at
    all or at least ``MIN_GROUP`` of them."""
    return households == 0 or households >= MIN_GROUP


@dataclass(frozen=True)
class Counts:
    """One group's raw figures. Never rendered: ``publish`` them first."""

    households: int
    amount: int = 0  # fen
    person_times: int = 0
    villages: int = 0


@dataclass(frozen=True)
class Aggregate:
    """What a public page may say about one group of households. A figure that may not
    be published is ``None``; a withheld group has no published figure at all."""

    label: str = ""
    households: int | None = None
    amount: int | None = None  # fen
    person_times: int | None = None
    villages: int | None = None
    named_villages: tuple[str, ...] = ()  # only villages where MIN_GROUP of them live

    @property
    def withheld(self) -> bool:
        return self.households is None


def _shown(counts: Counts, label: str, named_villages: Iterable[str] = ()) -> Aggregate:
    return Aggregate(
        label,
        counts.households,
        counts.amount,
        counts.person_times,
        counts.villages,
        tuple(named_villages),
    )


def publish(counts: Counts, label: str = "", named_villages: Iterable[str] = ()) -> Aggregate:
    """One group shown on its own (a product's or an order's households, the home page's
    headline): all of its figures, or none of them."""
    if not may_publish(counts.households):
        return Aggregate(label)
    return _shown(counts, label, named_villages)


def households_reached(village_ids: Iterable[int | None]) -> Aggregate:
    """The households a product or an order helps, given as one village id per household
    (None: village unknown): how many, in how many villages, and the names of the
    villages where at least ``MIN_GROUP`` of them live."""
    per_village = Counter(village_ids)
    households = sum(per_village.values())
    villages = len([v for v in per_village if v is not None])
    named_ids = [v for v, n in per_village.items() if v is not None and n >= MIN_GROUP]
    names: list[str] = []
    if named_ids and may_publish(households):
        names = [
            v.full_name
            for v in db.session.scalars(
                select(Village)
                .options(joinedload(Village.town).joinedload(Town.district))
                .where(Village.id.in_(named_ids))
                .order_by(Village.name)
            )
        ]
    return publish(Counts(households, villages=villages), named_villages=names)


def publish_tables(
    total: Counts, *tables: Sequence[tuple[str, Counts]]
) -> tuple[Aggregate, list[list[Aggregate]]]:
    """A total and tables of groups that each split it (the impact page's years and
    channels both split its headline), published so that no withheld group can be
    recovered from what is shown.

    In each table a group that may not be published is withheld; the total minus the
    rows shown then equals the sum of the withheld rows, so the smallest row of at least
    ``MIN_GROUP`` households is withheld beside it: the difference is then always a
    small group plus a publishable one, never a small group alone (all four figures
    are treated as if they added up, which amounts and person-times per year do). A
    table that cannot hide its small group that way withholds the total, everywhere.
    """
    published_total = may_publish(total.households)
    hidden_per_table = []
    for rows in tables:
        hidden = _complementary(total, rows) if published_total else set(range(len(rows)))
        if hidden is None:
            published_total = False
            hidden = set(range(len(rows)))
        hidden_per_table.append(hidden)
    if not published_total:
        hidden_per_table = [set(range(len(rows))) for rows in tables]
    return (
        _shown(total, "") if published_total else Aggregate(),
        [
            [
                Aggregate(label) if i in hidden else _shown(counts, label)
                for i, (label, counts) in enumerate(rows)
            ]
            for rows, hidden in zip(tables, hidden_per_table, strict=True)
        ],
    )


def _complementary(total: Counts, rows: Sequence[tuple[str, Counts]]) -> set[int] | None:
    """The rows of one table to withhold under a published total; None when only
    withholding the total protects its small groups."""
    hidden = {i for i, (_label, c) in enumerate(rows) if not may_publish(c.households)}
    if not hidden:
        return hidden
    big = [i for i, (_label, c) in enumerate(rows) if i not in hidden and c.households > 0]
    if big:
        # the smallest positive amount first: it costs the least to hide
        hidden.add(min(big, key=lambda i: (rows[i][1].amount <= 0, rows[i][1].amount, i)))
        return hidden
    # only groups without households are shown: the small groups are the whole
    # difference, which protects each only when there are several of them
    return hidden if len(hidden) > 1 else None


def personal_data(view: Callable) -> Callable:
    """Mark a view that shows a household's name or code (or a file of them): its
    responses are never stored by a browser, a proxy or a shared cache."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapper
