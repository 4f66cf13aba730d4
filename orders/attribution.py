"""Splitting an amount over weighted households: the largest-remainder method.

Each household's exact share is amount x weight / total weight. Everyone gets the whole
fen below their share; the fen left over go one each to the largest fractional parts,
ties to the lower household code. The parts always add up to the amount exactly and
each differs from its exact share by less than one fen.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple


class Share(NamedTuple):
    key: Hashable  # what the caller identifies the household by (e.g. its id)
    code: str  # household code: orders ties
    weight: Decimal | int | Fraction


def split(amount: int, shares: Sequence[Share]) -> list[tuple[Hashable, int]]:
    """``[(key, fen), ...]`` in the order of ``shares``, summing to ``amount``.

    A negative amount (a refund) is split as its absolute value and negated, so a refund
    of a whole line mirrors the sale exactly.
    """
    if not shares:
        return []
    if amount < 0:
        return [(key, -part) for key, part in split(-amount, shares)]
    weights = [Fraction(s.weight) for s in shares]
    total = sum(weights)
    if total <= 0 or any(w <= 0 for w in weights):
        raise ValueError("weights must be positive")
    exact = [amount * w / total for w in weights]
    parts = [e.numerator // e.denominator for e in exact]
    left = amount - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), shares[i].code))
    for i in order[:left]:
        parts[i] += 1
    return [(s.key, part) for s, part in zip(shares, parts, strict=True)]
