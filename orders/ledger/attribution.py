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
from math import lcm
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
    parts = split_integers(
        amount, integer_weights([s.weight for s in shares]), [s.code for s in shares]
    )
    return [(s.key, part) for s, part in zip(shares, parts, strict=True)]


def integer_weights(weights: Sequence[Decimal | int | Fraction]) -> list[int]:
    """The same proportions as whole numbers (each weight times the common denominator),
    so splitting needs integer arithmetic only."""
    fractions = [Fraction(w) for w in weights]
    if any(f <= 0 for f in fractions):
        raise ValueError("weights must be positive")
    denominator = lcm(*(f.denominator for f in fractions))
    return [f.numerator * (denominator // f.denominator) for f in fractions]


def split_integers(amount: int, weights: Sequence[int], codes: Sequence[str]) -> list[int]:
    """The largest-remainder split over positive integer ``weights``: exact share
    amount x w / W, floor for everyone, the left-over fen to the largest remainders
    (``amount x w mod W``), ties to the lower code."""
    if amount < 0:
        return [-part for part in split_integers(-amount, weights, codes)]
    total = sum(weights)
    if total <= 0:
        raise ValueError("weights must be positive")
    scaled = [amount * w for w in weights]
    parts = [x // total for x in scaled]
    left = amount - sum(parts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(scaled[i] % total), codes[i]))
        for i in order[:left]:
            parts[i] += 1
    return parts
