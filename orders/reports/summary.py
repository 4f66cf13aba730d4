"""`report summary`: the bureau's headline figures for a period (docs/formats.md).

Computed in the database, shaped to stay fast at millions of attribution rows: money and
order counts from the paid orders (an index-only scan), the unattributed part and the
refunds from the few attribution rows concerned (partial indexes), households and
person-times by one index probe per household and year, and small counts over fairs and
certifications. Nothing is loaded row by row into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    distinct,
    extract,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from catalog.models import Certification, CertStatus
from marketplace.bulk import chunks
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import Household
from marketplace.money import format_fen
from orders.fairs.models import Fair, FairStatus
from orders.ledger.models import PAID_STATUSES, Attribution, Channel, Order, OrderLine

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


def period_clause(column, date_from: date | None, date_to: date | None):
    conditions = []
    if date_from is not None:
        conditions.append(column >= date_from)
    if date_to is not None:
        conditions.append(column <= date_to)
    return and_(True, *conditions)


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


def summary(date_from: date | None = None, date_to: date | None = None) -> SummaryFigures:
    """The summary for sales dated from ``date_from`` to ``date_to`` (both inclusive;
    None = open-ended), net of refunds, paid sales only."""
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
    in_period = period_clause(Attribution.sale_date, date_from, date_to)

    # money and order counts from the paid orders (total less refunded is exactly the
    # sum of their attribution rows); refunds of certified lines and the unattributed
    # part from the few attribution rows concerned
    money = db.session.execute(
        select(
            Order.channel,
            func.sum(case((Order.refunded < Order.total, 1), else_=0)),
            func.sum(Order.total - Order.refunded),
            func.sum(Order.certified_total),
        )
        .where(Order.status.in_(PAID_STATUSES), period_clause(Order.sale_date, date_from, date_to))
        .group_by(Order.channel)
    )
    for channel, orders, amount, certified in money:
        result.channels[channel].orders = int(orders or 0)
        result.channels[channel].amount = int(amount or 0)
        result.certified_product_sales += int(certified or 0)
    result.certified_product_sales += int(
        db.session.scalar(
            select(func.sum(Attribution.amount)).where(
                Attribution.refund_id.is_not(None), Attribution.certified, in_period
            )
        )
        or 0
    )
    result.unattributed_amount = int(
        db.session.scalar(
            select(func.sum(Attribution.amount)).where(
                Attribution.household_id.is_(None), in_period
            )
        )
        or 0
    )
    result.attributed_amount = result.total_amount - result.unattributed_amount

    span_from, span_to = date_from or first, date_to or last
    if span_from is not None and span_to is not None:
        driven = driven_household_years(span_from, span_to)
        result.households_driven = len({household for household, _year in driven})
        result.person_times = sum(driven.values())

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


def _years(date_from: date, date_to: date) -> list[tuple[int, date, date]]:
    """(year, first day, last day) of each calendar year of the period, clipped to it."""
    return [
        (year, max(date_from, date(year, 1, 1)), min(date_to, date(year, 12, 31)))
        for year in range(date_from.year, date_to.year + 1)
    ]


def driven_household_years(date_from: date, date_to: date) -> dict[tuple[int, int], int]:
    """``{(household id, year): members}`` for the households with positive net
    attribution in a calendar year of the period: exactly what
    ``households_driven_query`` selects, without aggregating every attribution row.

    A refund never takes a household's share of a line below zero, so a household's net
    in a year is positive exactly when one of its sale rows there is on a line with a
    positive net for it. Most lines have no refund at all: one index probe per
    household and year finds such a row. Only the household-years named by refund rows
    and not found that way are summed up exactly.
    """
    # one probe per household and year: only the years that have sales (a period such as
    # 0001-01-01..9999-12-31 would otherwise be ten thousand of them)
    first, last = db.session.execute(
        select(func.min(Attribution.sale_date), func.max(Attribution.sale_date))
    ).one()
    if first is None:
        return {}
    years = _years(max(date_from, first), min(date_to, last))
    if not years:
        return {}
    spans = [
        select(
            literal(year, Integer).label("year"),
            literal(lo, Date).label("lo"),
            literal(hi, Date).label("hi"),
        )
        for year, lo, hi in years
    ]
    span = (spans[0] if len(spans) == 1 else union_all(*spans)).subquery("years")
    sale = aliased(Attribution, name="sale")
    # a scalar subquery with LIMIT 1 stays one index probe per household and year
    # (an EXISTS would be turned into a hash join over every attribution row)
    unrefunded_sale = (
        select(literal(1))
        .select_from(sale)
        .join(OrderLine, OrderLine.id == sale.order_line_id)
        .where(
            sale.household_id == Household.id,
            sale.sale_date >= span.c.lo,
            sale.sale_date <= span.c.hi,
            sale.refund_id.is_(None),
            sale.amount > 0,
            OrderLine.refunded_amount == 0,
        )
        .limit(1)
        .scalar_subquery()
    )
    probes = (
        select(
            Household.id.label("household_id"),
            Household.members.label("members"),
            span.c.year.label("year"),
            unrefunded_sale.label("hit"),
        )
        .select_from(Household)
        .join(span, literal(True))
        .subquery("probes")
    )
    driven: dict[tuple[int, int], int] = {
        (household_id, int(year)): members
        for household_id, members, year in db.session.execute(
            select(probes.c.household_id, probes.c.members, probes.c.year).where(
                probes.c.hit.is_not(None)
            )
        )
    }

    in_period = period_clause(Attribution.sale_date, date_from, date_to)
    year = extract("year", Attribution.sale_date)
    # the first refund of a line writes a row (maybe of 0 fen) for every household with a
    # positive share of it, so the (few) refund rows name every household-year that has
    # a sale on a refunded line
    on_refunded_lines = {
        (household_id, int(y))
        for household_id, y in db.session.execute(
            select(Attribution.household_id, year)
            .where(
                Attribution.refund_id.is_not(None),
                Attribution.household_id.is_not(None),
                in_period,
            )
            .distinct()
        )
    }
    doubtful = on_refunded_lines - driven.keys()
    households = sorted({household_id for household_id, _y in doubtful})
    for chunk in chunks(households):
        rows = db.session.execute(
            select(Attribution.household_id, year, Household.members)
            .join(Household, Household.id == Attribution.household_id)
            .where(Attribution.household_id.in_(chunk), in_period)
            .group_by(Attribution.household_id, year, Household.members)
            .having(func.sum(Attribution.amount) > 0)
        )
        for household_id, y, members in rows:
            if (household_id, int(y)) in doubtful:
                driven[(household_id, int(y))] = members
    return driven
