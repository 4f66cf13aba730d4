"""The attribution rule: largest remainder exact to the fen, ties to the lower household
code; refunds reverse it, in whole or in part, and never take more than was paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from catalog.links import replace_link_version
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import db
from orders.ledger.attribution import Share, split
from orders.ledger.models import Attribution, Channel, OrderLine
from orders.ledger.services import SaleItem, cancel_unpaid, create_order, record_paid_sale, refund

from ..catalog_factories import BenefitLinkFactory, ProductFactory
from ..factories import HouseholdFactory

# ---- the split itself (pure) ----

weights = st.decimals(
    min_value=Decimal("0.000001"),
    max_value=Decimal("1000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


@st.composite
def households(draw):
    ws = draw(st.lists(weights, min_size=1, max_size=50))
    codes = draw(st.lists(st.integers(0, 999_999), min_size=len(ws), max_size=len(ws), unique=True))
    return [Share(i, f"H{code:06d}", w) for i, (code, w) in enumerate(zip(codes, ws, strict=True))]


def _exact(amount: int, shares: list[Share]) -> list[Fraction]:
    total = sum(Fraction(s.weight) for s in shares)
    return [amount * Fraction(s.weight) / total for s in shares]


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(0, 10**12), shares=households())
def test_split_is_exact_close_and_breaks_ties_to_the_lower_code(amount, shares):
    parts = split(amount, shares)
    assert [key for key, _ in parts] == [s.key for s in shares]  # caller's order kept
    values = [part for _, part in parts]
    assert sum(values) == amount
    exact = _exact(amount, shares)
    for part, share in zip(values, exact, strict=True):
        assert abs(part - share) < 1
    # whoever got the extra fen had a larger remainder, or an equal one and a lower code
    floors = [e.numerator // e.denominator for e in exact]
    remainders = [e - f for e, f in zip(exact, floors, strict=True)]
    extra = [v - f for v, f in zip(values, floors, strict=True)]
    assert set(extra) <= {0, 1}
    for i, got in enumerate(extra):
        for j, other in enumerate(extra):
            if got == 1 and other == 0:
                assert remainders[i] > remainders[j] or (
                    remainders[i] == remainders[j] and shares[i].code < shares[j].code
                )


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(2, 50),
    weight=weights,
    whole=st.integers(0, 10**9),
    data=st.data(),
)
def test_equal_weights_give_the_extra_fen_to_the_lowest_codes(n, weight, whole, data):
    """Equal weights: every remainder ties, so the left-over fen go to the lowest codes,
    whatever order the households come in."""
    left = data.draw(st.integers(0, n - 1))
    amount = whole * n + left
    codes = data.draw(st.permutations([f"H{i:03d}" for i in range(n)]))
    shares = [Share(code, code, weight) for code in codes]
    parts = dict(split(amount, shares))
    lowest = sorted(codes)[:left]
    for code, part in parts.items():
        assert part == whole + (1 if code in lowest else 0)


def test_ties_examples():
    three = [Share("c", "H3", 1), Share("a", "H1", 1), Share("b", "H2", 1)]
    assert dict(split(100, three)) == {"a": 34, "b": 33, "c": 33}
    assert dict(split(2, three)) == {"a": 1, "b": 1, "c": 0}
    assert dict(split(-2, three)) == {"a": -1, "b": -1, "c": 0}
    # not a tie: 0.75 beats 0.25
    assert dict(split(1, [Share("x", "H1", 1), Share("y", "H2", 3)])) == {"x": 0, "y": 1}


def test_split_refuses_non_positive_weights():
    with pytest.raises(ValueError):
        split(10, [Share(1, "H1", 0)])
    assert split(10, []) == []


# ---- refunds reverse the attribution ----


@pytest.fixture
def lychee():
    product = ProductFactory(sku="LZ-1", name="妃子笑荔枝", unit="箱")
    homes = [
        HouseholdFactory(code=code, members=m) for code, m in (("H1", 4), ("H2", 2), ("H3", 5))
    ]
    for home, weight in zip(homes, ("1", "2", "3.5"), strict=True):
        BenefitLinkFactory(product=product, household=home, weight=Decimal(weight))
    return product


def nets(order_id=None) -> dict:
    query = select(Attribution.household_id, func.sum(Attribution.amount)).group_by(
        Attribution.household_id
    )
    if order_id is not None:
        query = query.where(Attribution.order_id == order_id)
    return {h: int(a) for h, a in db.session.execute(query)}


def sale(product, quantity=3, price=3333, day=date(2025, 6, 1)):
    return record_paid_sale(
        Channel.ONLINE,
        [SaleItem(product, quantity, price)],
        sale_date=day,
        check_sellable=False,
    )


def test_full_refund_nets_every_household_to_zero(lychee):
    order = sale(lychee)
    paid = nets(order.id)
    assert sum(paid.values()) == 9999 and all(v > 0 for v in paid.values())
    line = order.lines[0]
    refund(order, [(line.id, 3)], reason="质量问题")
    assert all(v == 0 for v in nets(order.id).values())
    assert order.refunded == order.total == 9999


def test_full_refund_after_links_changed_reverses_the_original_households(lychee):
    order = sale(lychee)
    newcomer = HouseholdFactory(code="H0")
    replace_link_version(lychee.id, date(1900, 1, 1), [(newcomer.id, Decimal(1))])
    db.session.commit()
    refund(order, [(order.lines[0].id, 3)], reason="退货")
    after = nets(order.id)
    assert newcomer.id not in after
    assert all(v == 0 for v in after.values())


def test_partial_refund_reverses_proportionally_and_sums_exactly(lychee):
    order = sale(lychee, quantity=3, price=3333)
    paid = nets(order.id)
    line = order.lines[0]
    record = refund(order, [(line.id, 1)], reason="少发一箱")
    assert record.amount == 3333
    rows = db.session.execute(
        select(Attribution.household_id, Attribution.amount).where(
            Attribution.refund_id == record.id
        )
    ).all()
    assert sum(a for _, a in rows) == -3333
    for household_id, amount in rows:
        exact = Fraction(-3333 * paid[household_id], 9999)
        assert abs(amount - exact) < 1
    # then the rest: exactly what is left, every household back to zero
    second = refund(order, [(line.id, 2)], reason="整单退")
    assert second.amount == 6666
    assert all(v == 0 for v in nets(order.id).values())


def test_successive_one_fen_refunds_never_push_a_household_negative():
    """Two households, equal weights, a 2-fen line: the first 1-fen refund goes to the
    lower code; the second must come from the other household, not the same one again."""
    product = ProductFactory(sku="TINY")
    for code in ("H1", "H2"):
        BenefitLinkFactory(product=product, household=HouseholdFactory(code=code))
    order = sale(product, quantity=2, price=1)
    line = order.lines[0]
    refund(order, [(line.id, 1)], reason="a")
    assert sorted(nets(order.id).values()) == [0, 1]
    refund(order, [(line.id, 1)], reason="b")
    assert list(nets(order.id).values()) == [0, 0]


def test_refund_never_exceeds_what_was_paid(lychee):
    order = sale(lychee, quantity=3, price=1000)
    line = order.lines[0]
    with pytest.raises(ValidationError):
        refund(order, [(line.id, 4)], reason="太多")
    refund(order, [(line.id, 2)], reason="两箱")
    with pytest.raises(ValidationError):
        refund(order, [(line.id, 2)], reason="又两箱")
    with pytest.raises(ValidationError):
        refund(order, [(line.id, 0)], reason="零")
    last = refund(order, [(line.id, 1)], reason="最后一箱")
    assert last.amount == 1000
    db.session.refresh(line)
    assert (line.refunded_quantity, line.refunded_amount) == (3, line.amount)
    with pytest.raises(ValidationError):
        refund(order, [(line.id, 1)], reason="已退完")
    assert sum(nets(order.id).values()) == 0
    assert db.session.scalar(select(func.sum(OrderLine.refunded_amount))) == 3000


def test_unpaid_and_cancelled_orders_cannot_be_refunded(lychee):
    order = create_order(Channel.ONLINE, [SaleItem(lychee, 1, 100)], check_sellable=False)
    db.session.commit()
    with pytest.raises(IllegalTransition):
        refund(order, [(order.lines[0].id, 1)], reason="未付款")
    cancel_unpaid(order, reason="超时")
    with pytest.raises(IllegalTransition):
        refund(order, [(order.lines[0].id, 1)], reason="已取消")
    assert nets() == {}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    price=st.integers(1, 10**7),
    steps=st.lists(st.integers(1, 4), min_size=1, max_size=5),
)
def test_any_sequence_of_partial_refunds_stays_exact(lychee, price, steps):
    quantity = sum(steps)
    order = sale(lychee, quantity=quantity, price=price)
    line = order.lines[0]
    for step in steps:
        refund(order, [(line.id, step)], reason="分批退款")
        current = nets(order.id)
        assert all(v >= 0 for v in current.values())
        db.session.refresh(line)
        assert sum(current.values()) == line.amount - line.refunded_amount
    assert all(v == 0 for v in nets(order.id).values())
