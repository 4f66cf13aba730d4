"""`report summary`: the bureau's headline figures for a period (DATA_FORMATS.md).

Computed in the database: one conditional aggregation over the attribution rows for
the money, one grouped pass for households and person-times, and small counts over
orders, fairs and certifications. Nothing is loaded row by row into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, distinct, extract, func, select

from catalog.models import Certification, CertStatus
from marketplace.extensions import db
from marketplace.models import Household
from marketplace.money import format_fen

from ..models import PAID_STATUSES, Attribution, Channel, Fair, FairStatus, Order

CHANNELS = [Channel.ONLINE, Channel.FAIR, Channel.PROCUREMENT, Channel.COUNTER]


@dataclass
class ChannelFigures:
    orders: int = 0
    amount: int = 0  # fen


@dataclass
class Summary:
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
    """The first and last sale dates in the ledger (the default period: everything)."""
    return tuple(
        db.session.execute(
            select(func.min(Attribution.sale_date), func.max(Attribution.sale_date))
        ).one()
    )


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


def summary(date_from: date | None = None, date_to: date | None = None) -> Summary:
    """The summary for sales dated from ``date_from`` to ``date_to`` (both inclusive;
    None = open-ended), net of refunds, paid sales only."""
    if date_from is None or date_to is None:
        first, last = ledger_span()
        date_from = date_from or first
        date_to = date_to or last
    result = Summary(date_from, date_to, {c: ChannelFigures() for c in CHANNELS})
    in_period = period_clause(Attribution.sale_date, date_from, date_to)

    money = db.session.execute(
        select(
            Attribution.channel,
            func.sum(Attribution.amount),
            func.sum(case((Attribution.household_id.is_not(None), Attribution.amount), else_=0)),
            func.sum(case((Attribution.certified, Attribution.amount), else_=0)),
        )
        .where(in_period)
        .group_by(Attribution.channel)
    )
    for channel, amount, attributed, certified in money:
        result.channels[channel].amount = int(amount or 0)
        result.attributed_amount += int(attributed or 0)
        result.certified_product_sales += int(certified or 0)
    result.unattributed_amount = result.total_amount - result.attributed_amount

    orders = db.session.execute(
        select(Order.channel, func.count(Order.id))
        .where(
            Order.status.in_(PAID_STATUSES),
            Order.refunded < Order.total,
            period_clause(Order.sale_date, date_from, date_to),
        )
        .group_by(Order.channel)
    )
    for channel, count in orders:
        result.channels[channel].orders = int(count)

    driven = households_driven_query(date_from, date_to)
    households, person_times = db.session.execute(
        select(func.count(distinct(driven.c.household_id)), func.sum(Household.members))
        .select_from(driven)
        .join(Household, Household.id == driven.c.household_id)
    ).one()
    result.households_driven = int(households or 0)
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
