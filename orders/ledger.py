"""Attribution of paid lines to households, set-based: used for one live order and for
100,000 imported lines alike (bulk lookups, bulk inserts, no ORM object per row)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select

from catalog.models import BenefitLink, Certification, CertStatus
from marketplace.extensions import db
from marketplace.models import Household, utcnow

from .attribution import Share, split
from .models import Attribution

CHUNK = 2000


@dataclass(frozen=True)
class PaidLine:
    order_id: int
    line_id: int
    product_id: int
    vendor_id: int
    channel: str
    sale_date: date
    amount: int  # fen


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LinkBook:
    """The benefit-link versions of a set of products, loaded once."""

    def __init__(self, product_ids: Iterable[int]):
        ids = sorted(set(product_ids))
        versions: dict[int, dict] = defaultdict(lambda: defaultdict(list))
        for chunk in _chunks(ids):
            rows = db.session.execute(
                select(
                    BenefitLink.product_id,
                    BenefitLink.valid_from,
                    BenefitLink.household_id,
                    BenefitLink.weight,
                    Household.code,
                    Household.village_id,
                )
                .join(Household, Household.id == BenefitLink.household_id)
                .where(BenefitLink.product_id.in_(chunk))
            )
            for product_id, valid_from, household_id, weight, code, village_id in rows:
                versions[product_id][valid_from].append(
                    (Share((household_id, village_id), code, weight))
                )
        self._dates = {p: sorted(v) for p, v in versions.items()}
        self._versions = versions

    def shares(self, product_id: int, day: date) -> list[Share]:
        """The shares of the version in force on ``day``: latest valid_from <= day."""
        dates = self._dates.get(product_id)
        if not dates:
            return []
        i = bisect.bisect_right(dates, day)
        if i == 0:
            return []
        return sorted(self._versions[product_id][dates[i - 1]], key=lambda s: s.code)


class CertificationBook:
    """Certification windows of a set of products: was a product certified on a day."""

    def __init__(self, product_ids: Iterable[int]):
        self._windows: dict[int, list[tuple[date, date]]] = defaultdict(list)
        ids = sorted(set(product_ids))
        for chunk in _chunks(ids):
            rows = db.session.execute(
                select(
                    Certification.product_id, Certification.certified_on, Certification.valid_until
                ).where(
                    Certification.product_id.in_(chunk),
                    Certification.status.in_([CertStatus.APPROVED, CertStatus.SUSPENDED]),
                )
            )
            for product_id, start, end in rows:
                self._windows[product_id].append((start, end))

    def certified(self, product_id: int, day: date) -> bool:
        return any(start <= day <= end for start, end in self._windows.get(product_id, ()))


def attribution_rows(lines: Sequence[PaidLine], certified: dict[int, bool]) -> list[dict]:
    """The attribution rows for paid lines (``certified`` maps line id to its flag)."""
    book = LinkBook(line.product_id for line in lines)
    now = utcnow()
    rows: list[dict] = []
    for line in lines:
        base = {
            "order_id": line.order_id,
            "order_line_id": line.line_id,
            "refund_id": None,
            "product_id": line.product_id,
            "vendor_id": line.vendor_id,
            "channel": line.channel,
            "sale_date": line.sale_date,
            "certified": certified[line.line_id],
            "created_at": now,
        }
        shares = book.shares(line.product_id, line.sale_date)
        if not shares:
            rows.append({**base, "household_id": None, "village_id": None, "amount": line.amount})
            continue
        for (household_id, village_id), part in split(line.amount, shares):
            rows.append(
                {**base, "household_id": household_id, "village_id": village_id, "amount": part}
            )
    return rows


def write_attribution(lines: Sequence[PaidLine], certified: dict[int, bool]) -> int:
    """Insert the attribution rows of ``lines`` in the caller's transaction."""
    rows = attribution_rows(lines, certified)
    for chunk in _chunks(rows, 5000):
        db.session.execute(insert(Attribution), list(chunk))
    return len(rows)


def refund_rows(line_id: int, refund_id: int, amount: int) -> list[dict]:
    """Opposite rows for refunding ``amount`` fen of a line, split in proportion to what
    each household got from the sale (so a whole-line refund mirrors it exactly, even if
    the product's links changed since)."""
    sale_rows = list(
        db.session.scalars(
            select(Attribution)
            .where(Attribution.order_line_id == line_id, Attribution.refund_id.is_(None))
            .order_by(Attribution.id)
        )
    )
    if not sale_rows:
        return []
    codes = dict(
        db.session.execute(
            select(Household.id, Household.code).where(
                Household.id.in_([r.household_id for r in sale_rows if r.household_id])
            )
        ).all()
    )
    weighted = [r for r in sale_rows if r.amount > 0] or sale_rows[:1]
    shares = [
        Share(i, codes.get(r.household_id, ""), r.amount if r.amount > 0 else 1)
        for i, r in enumerate(weighted)
    ]
    now = utcnow()
    rows = []
    for i, part in split(-amount, shares):
        r = weighted[i]
        rows.append(
            {
                "order_id": r.order_id,
                "order_line_id": line_id,
                "refund_id": refund_id,
                "household_id": r.household_id,
                "village_id": r.village_id,
                "product_id": r.product_id,
                "vendor_id": r.vendor_id,
                "channel": r.channel,
                "sale_date": r.sale_date,
                "certified": r.certified,
                "amount": part,
                "created_at": now,
            }
        )
    return rows
