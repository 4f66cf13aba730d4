"""The kernel's publication rule (issue 9, items 5 and 6): no group of fewer than three
households is shown, neither directly nor as the difference between a total and the
rows shown beside it."""

from __future__ import annotations

from itertools import combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.publication import (
    MIN_GROUP,
    Aggregate,
    Counts,
    households_reached,
    may_publish,
    publish,
    publish_tables,
)
from tests.factories import VillageFactory

FIGURES = ("households", "amount", "person_times", "villages")


def test_groups_of_one_or_two_households_are_never_published():
    assert [may_publish(n) for n in range(5)] == [True, False, False, True, True]
    assert MIN_GROUP == 3
    for n in (1, 2):
        shown = publish(Counts(n, amount=5000, person_times=7, villages=1), "x")
        assert shown == Aggregate("x")
        assert shown.withheld
        assert all(getattr(shown, f) is None for f in FIGURES)
    shown = publish(Counts(3, amount=5000, person_times=7, villages=2))
    assert not shown.withheld
    assert (shown.households, shown.amount, shown.person_times, shown.villages) == (3, 5000, 7, 2)
    assert not publish(Counts(0)).withheld  # no household: nobody to protect


def test_households_reached_names_only_villages_of_three_and_hides_small_groups():
    many, two = VillageFactory(name="多户村"), VillageFactory(name="两户村")
    reached = households_reached([many.id, many.id, many.id, two.id, two.id, None])
    assert (reached.households, reached.villages) == (6, 2)
    assert reached.named_villages == (many.full_name,)
    small = households_reached([two.id, two.id])
    assert small.withheld and small.households is None and small.named_villages == ()
    nobody = households_reached([])
    assert not nobody.withheld and nobody.households == 0


def rows(*groups: tuple[int, int]) -> list[tuple[str, Counts]]:
    """(households, amount) per row; person-times and villages follow the households."""
    return [(str(i), Counts(h, a, h * 3, h)) for i, (h, a) in enumerate(groups)]


def test_a_withheld_row_hides_the_smallest_other_row_beside_it():
    total = Counts(10, 10_000, 30, 10)
    table = rows((3, 3000), (2, 2000), (5, 5000))
    shown, (published,) = publish_tables(total, table)
    assert shown.amount == 10_000
    assert [r.withheld for r in published] == [True, True, False]  # 3000 hides 2000
    # groups without households are shown, and never picked to hide a small group
    shown, (published,) = publish_tables(total, rows((2, 2000), (0, 100), (8, 7900)))
    assert [r.withheld for r in published] == [True, False, True]


def test_a_small_total_withholds_every_table():
    shown, tables = publish_tables(Counts(2, 900, 6, 1), rows((2, 500)), rows((1, 400), (1, 500)))
    assert shown.withheld
    assert all(r.withheld for table in tables for r in table)


def test_a_table_that_cannot_hide_its_small_group_withholds_the_total():
    # the rows do not cover the total: one small group beside groups without households
    shown, (years, channels) = publish_tables(
        Counts(5, 900, 15, 5), rows((2, 500), (0, 400)), rows((5, 900))
    )
    assert shown.withheld
    assert all(r.withheld for r in years + channels)


def recoverable(total: Counts, table: list[tuple[str, Counts]], published) -> list[str]:
    """Every withheld row figure that equals the total minus some rows shown."""
    found = []
    for figure in FIGURES:
        shown = [getattr(p, figure) for p in published if not p.withheld]
        hidden = {
            getattr(c, figure) for (_l, c), p in zip(table, published, strict=True) if p.withheld
        }
        for size in range(len(shown) + 1):
            for subset in combinations(shown, size):
                if getattr(total, figure) - sum(subset) in hidden:
                    found.append(figure)
    return found


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.integers(1, 10_000)),
        min_size=1,
        max_size=6,
    )
)
def test_no_withheld_group_is_the_total_minus_rows_shown(groups):
    """Disjoint groups (the worst case: every figure adds up): whatever is shown, no
    subtraction gives a withheld group's figures."""
    table = [(str(i), Counts(h, a if h else 0, h * 2, h)) for i, (h, a) in enumerate(groups)]
    total = Counts(
        sum(c.households for _l, c in table),
        sum(c.amount for _l, c in table),
        sum(c.person_times for _l, c in table),
        sum(c.villages for _l, c in table),
    )
    shown, (published,) = publish_tables(total, table)
    if shown.withheld:
        assert all(p.withheld for p in published)
        return
    small = [p for (_l, c), p in zip(table, published, strict=True) if 0 < c.households < 3]
    assert all(p.withheld for p in small)
    assert recoverable(total, table, published) == []
