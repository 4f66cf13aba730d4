"""Attribution of paid lines to households, set-based: used for one live order and for
100,000 imported lines alike (bulk lookups, bulk inserts, no ORM object per row)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from catalog.models import BenefitLink, Certification, CertStatus
from marketplace.bulk import bulk_insert, chunks
from marketplace.extensions import db
from marketplace.models import Household, utcnow
from orders.ledger import rollup
from orders.ledger.attribution import Share, integer_weights, split, split_integers
from orders.ledger.models import Attribution


@dataclass(frozen=True)
class PaidLine:
    order_id: int
    line_id: int
    product_id: int
    vendor_id: int
    channel: str
    sale_date: date
    amount: int  # fen
    certified: bool = False  # the line's flag before it was paid (imports set it up front)


class LinkBook:
    """The benefit-link versions of a set of products, loaded once."""

    def __init__(self, product_ids: Iterable[int]):
        ids = sorted(set(product_ids))
        versions: dict[int, dict] = defaultdict(lambda: defaultdict(list))
        for chunk in chunks(ids):
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
                    Share((household_id, village_id), code, weight)
                )
        self._dates = {p: sorted(v) for p, v in versions.items()}
        self._versions = versions
        self._prepared: dict[tuple[int, date], Prepared] = {}

    def _version(self, product_id: int, day: date) -> date | None:
        dates = self._dates.get(product_id)
        if not dates:
            return None
        i = bisect.bisect_right(dates, day)
        return dates[i - 1] if i else None

    def shares(self, product_id: int, day: date) -> list[Share]:
        """The shares of the version in force on ``day``: latest valid_from <= day."""
        version = self._version(product_id, day)
        if version is None:
            return []
        return sorted(self._versions[product_id][version], key=lambda s: s.code)

    def prepared(self, product_id: int, day: date) -> Prepared | None:
        """The version in force on ``day`` ready for ``split_integers`` (worked out once
        per version, however many lines use it)."""
        version = self._version(product_id, day)
        if version is None:
            return None
        key = (product_id, version)
        if key not in self._prepared:
            shares = self.shares(product_id, day)
            self._prepared[key] = Prepared(
                [s.key for s in shares],
                [s.code for s in shares],
                integer_weights([s.weight for s in shares]),
            )
        return self._prepared[key]


@dataclass(frozen=True)
class Prepared:
    keys: list  # (household_id, village_id)
    codes: list[str]
    weights: list[int]


class CertificationBook:
    """Certification windows of a set of products: was a product certified on a day."""

    def __init__(self, product_ids: Iterable[int]):
        self._windows: dict[int, list[tuple[date, date]]] = defaultdict(list)
        ids = sorted(set(product_ids))
        for chunk in chunks(ids):
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
        version = book.prepared(line.product_id, line.sale_date)
        if version is None:
            rows.append({**base, "household_id": None, "village_id": None, "amount": line.amount})
            continue
        parts = split_integers(line.amount, version.weights, version.codes)
        for (household_id, village_id), part in zip(version.keys, parts, strict=True):
            rows.append(
                {**base, "household_id": household_id, "village_id": village_id, "amount": part}
            )
    return rows


def write_attribution(lines: Sequence[PaidLine], certified: dict[int, bool]) -> int:
    """Insert the attribution rows of ``lines`` in the caller's transaction, and count
    them into the sales rollup the reports read."""
    rows = attribution_rows(lines, certified)
    bulk_insert(Attribution.__table__, rows)
    rollup.add(rows)
    return len(rows)


def refund_rows(line_id: int, refund_id: int, amount: int) -> list[dict]:
    """Opposite rows for refunding ``amount`` fen of a line, split in proportion to what
    each household still holds of the sale (its sale part less earlier refunds). So a
    whole-line refund mirrors the sale exactly, successive partial refunds never take a
    household below zero, and the last one takes exactly what is left, even if the
    product's links changed since."""
    sale = db.session.scalar(
        select(Attribution)
        .where(Attribution.order_line_id == line_id, Attribution.refund_id.is_(None))
        .order_by(Attribution.id)
        .limit(1)
    )
    if sale is None:
        return []
    held = db.session.execute(
        select(
            Attribution.household_id,
            Attribution.village_id,
            func.sum(Attribution.amount),
            func.min(Attribution.id),
        )
        .where(Attribution.order_line_id == line_id)
        .group_by(Attribution.household_id, Attribution.village_id)
        .order_by(func.min(Attribution.id))
    ).all()
    codes = dict(
        db.session.execute(
            select(Household.id, Household.code).where(
                Household.id.in_([h.household_id for h in held if h.household_id])
            )
        ).all()
    )
    weighted = [h for h in held if h[2] > 0]
    if not weighted:
        return []
    shares = [Share(i, codes.get(h.household_id, ""), int(h[2])) for i, h in enumerate(weighted)]
    now = utcnow()
    rows = []
    for i, part in split(-amount, shares):
        h = weighted[i]
        rows.append(
            {
                "order_id": sale.order_id,
                "order_line_id": line_id,
                "refund_id": refund_id,
                "household_id": h.household_id,
                "village_id": h.village_id,
                "product_id": sale.product_id,
                "vendor_id": sale.vendor_id,
                "channel": sale.channel,
                "sale_date": sale.sale_date,
                "certified": sale.certified,
                "amount": part,
                "created_at": now,
            }
        )
    return rows
