"""`report summary`: the bureau's headline figures for a period (docs/formats.md).

Computed in the database from the period's ledger rows (``orders.reports.source``: the
sales rollup, plus the attribution rows of months the period only partly covers), so it
stays fast at millions of attribution rows; order counts from the paid orders (an
index-only scan), and small counts over fairs and certifications. Nothing is loaded row
by row into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, distinct, extract, func, select

from catalog.models import Certification, CertStatus
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import Household
from marketplace.money import format_fen
from orders.fairs.models import Fair, FairStatus
from orders.ledger.models import PAID_STATUSES, Attribution, Channel, Order
from orders.reports.source import Period, driven, ledger_rows, period_clause

CHANNELS = [Channel.ONLINE, Channel.FAIR, Channel.PROCUREMENT, Channel.COUNTER]


@dataclass
class ChannelFigures:
    orders: int = 0
    amount: int = 0  # fen


@dataclass
class SummaryFigures:
    """The summary report's figures for a period (the city report's headline numbers),
    amounts in fen; ``to_json`` gives the contract's shape."""

    date_from: date | None
    date_to: date | None
    channels: dict[str, ChannelFigures] = field(default_factory=dict)
    fairs_held: int = 0
    certified_products: int = 0
    certified_product_sales: int = 0
    households_driven: int = 0
    person_times: int = 0
    attributed_amount: int = 0
    unattributed_amount: int = 0

    @property
    def total_amount(self) -> int:
        return sum(c.amount for c in self.channels.values())

    def to_json(self) -> dict:
        """Exactly the contract's keys, amounts as yuan strings with two decimals."""
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "channels": {
                name: {
                    "orders": self.channels[name].orders,
                    "amount": format_fen(self.channels[name].amount),
                }
                for name in CHANNELS
            },
            "total_amount": format_fen(self.total_amount),
            "fairs_held": self.fairs_held,
            "certified_products": self.certified_products,
            "certified_product_sales": format_fen(self.certified_product_sales),
            "households_driven": self.households_driven,
            "person_times": self.person_times,
            "attributed_amount": format_fen(self.attributed_amount),
            "unattributed_amount": format_fen(self.unattributed_amount),
        }


def ledger_span() -> tuple[date | None, date | None]:
    """The first and last dates in the ledger, sales and fairs (what "everything" spans)."""
    sales = db.session.execute(
        select(func.min(Attribution.sale_date), func.max(Attribution.sale_date))
    ).one()
    fairs = db.session.execute(
        select(func.min(Fair.date), func.max(Fair.date)).where(Fair.status != FairStatus.CANCELLED)
    ).one()
    firsts = [d for d in (sales[0], fairs[0]) if d is not None]
    lasts = [d for d in (sales[1], fairs[1]) if d is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def households_driven_query(date_from: date | None, date_to: date | None):
    """(household_id, year) pairs with positive net attribution in the period."""
    year = extract("year", Attribution.sale_date).label("year")
    return (
        select(Attribution.household_id.label("household_id"), year)
        .where(
            Attribution.household_id.is_not(None),
            period_clause(Attribution.sale_date, date_from, date_to),
        )
        .group_by(Attribution.household_id, year)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )


def order_counts(date_from: date | None, date_to: date | None) -> dict[str, int]:
    """Paid orders per channel dated in the period (an order refunded in full no longer
    counts): additive over disjoint periods."""
    counts = db.session.execute(
        select(Order.channel, func.sum(case((Order.refunded < Order.total, 1), else_=0)))
        .where(Order.status.in_(PAID_STATUSES), period_clause(Order.sale_date, date_from, date_to))
        .group_by(Order.channel)
    )
    return {channel: int(orders or 0) for channel, orders in counts}


def summary(
    date_from: date | None = None,
    date_to: date | None = None,
    counts: dict[str, int] | None = None,
) -> SummaryFigures:
    """The summary for sales dated from ``date_from`` to ``date_to`` (both inclusive;
    None = open-ended), net of refunds, paid sales only. ``counts``: the period's
    ``order_counts`` when the caller has them already."""
    first, last = ledger_span() if date_from is None or date_to is None else (None, None)
    shown_from, shown_to = date_from, date_to
    if date_from is None or date_to is None:
        # an open end counts everything on that side; the report shows the data's span
        today = local_today()
        shown_from = date_from or first or min(today, date_to or today)
        shown_to = date_to or last or max(today, shown_from)
        if shown_from > shown_to:  # the data lies wholly outside the one bound given
            shown_from, shown_to = (date_from, date_from) if date_from else (date_to, date_to)
    result = SummaryFigures(shown_from, shown_to, {c: ChannelFigures() for c in CHANNELS})
    if counts is None:
        counts = order_counts(date_from, date_to)
    for channel, orders in counts.items():
        result.channels[channel].orders = orders
    # money, net of refunds: per channel, certified, and the unattributed part
    rows = ledger_rows(Period(date_from, date_to))
    money = db.session.execute(
        select(
            rows.c.channel,
            func.sum(rows.c.amount),
            func.sum(case((rows.c.certified, rows.c.amount), else_=0)),
            func.sum(case((rows.c.household_id.is_(None), rows.c.amount), else_=0)),
        ).group_by(rows.c.channel)
    )
    for channel, amount, certified, unattributed in money:
        result.channels[channel].amount = int(amount or 0)
        result.certified_product_sales += int(certified or 0)
        result.unattributed_amount += int(unattributed or 0)
    result.attributed_amount = result.total_amount - result.unattributed_amount

    households = driven(ledger_rows(Period(date_from, date_to)))
    count, person_times = db.session.execute(
        select(func.count(distinct(households.c.household_id)), func.sum(Household.members))
        .select_from(households)
        .join(Household, Household.id == households.c.household_id)
    ).one()
    result.households_driven = int(count or 0)
    result.person_times = int(person_times or 0)

    result.fairs_held = int(
        db.session.scalar(
            select(func.count(Fair.id)).where(
                Fair.status != FairStatus.CANCELLED, period_clause(Fair.date, date_from, date_to)
            )
        )
        or 0
    )
    overlap = []
    if date_to is not None:
        overlap.append(Certification.certified_on <= date_to)
    if date_from is not None:
        overlap.append(Certification.valid_until >= date_from)
    result.certified_products = int(
        db.session.scalar(
            select(func.count(distinct(Certification.product_id))).where(
                Certification.status.in_([CertStatus.APPROVED, CertStatus.SUSPENDED]), *overlap
            )
        )
        or 0
    )
    return result
