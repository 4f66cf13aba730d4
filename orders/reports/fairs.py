"""`report fairs`: the fair season (docs/formats.md). Its period, ``fairs_held`` and
``amount`` are the summary's own (``report summary``'s ``fairs_held`` and
``channels.fair.amount``), so the two reports agree by construction; the fairs listed
are those dated in the period or with sales in it, whose amounts add up to ``amount``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, or_, select

from marketplace.extensions import db
from marketplace.money import format_fen
from orders.fairs.models import Fair
from orders.ledger.models import PAID_STATUSES, Channel, Order
from orders.reports.source import Period, ledger_rows
from orders.reports.summary import SummaryFigures, period_clause, summary


@dataclass
class FairRow:
    code: str
    name: str
    date: date
    status: str
    orders: int = 0
    amount: int = 0  # fen, net of refunds


@dataclass
class FairSeason:
    date_from: date | None
    date_to: date | None
    fairs_held: int = 0
    amount: int = 0
    households_driven: int = 0
    fairs: list[FairRow] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "fairs_held": self.fairs_held,
            "amount": format_fen(self.amount),
            "households_driven": self.households_driven,
            "fairs": [
                {
                    "fair_code": f.code,
                    "name": f.name,
                    "date": f.date.isoformat(),
                    "status": f.status,
                    "orders": f.orders,
                    "amount": format_fen(f.amount),
                }
                for f in self.fairs
            ],
        }


def fair_season(
    date_from: date | None = None,
    date_to: date | None = None,
    head: SummaryFigures | None = None,
    *,
    list_fairs: bool = True,
) -> FairSeason:
    """Fairs held, fair sales and the households they drove from ``date_from`` to
    ``date_to`` (sale dates and fair dates, both inclusive; None = open-ended). ``head``
    is the summary of that period when the caller has it already."""
    head = head or summary(date_from, date_to)
    result = FairSeason(
        head.date_from,
        head.date_to,
        head.fairs_held,
        head.channels[Channel.FAIR].amount,
    )
    rows = ledger_rows(Period(date_from, date_to))
    driven = (
        select(rows.c.household_id)
        .where(rows.c.channel == Channel.FAIR, rows.c.household_id.is_not(None))
        .group_by(rows.c.household_id)
        .having(func.sum(rows.c.amount) > 0)
        .subquery()
    )
    result.households_driven = int(db.session.scalar(select(func.count()).select_from(driven)) or 0)
    if not list_fairs:
        return result
    sales = (
        select(
            Order.fair_id.label("fair_id"),
            func.sum(case((Order.refunded < Order.total, 1), else_=0)).label("orders"),
            func.sum(Order.total - Order.refunded).label("amount"),
        )
        .where(
            Order.channel == Channel.FAIR,
            Order.status.in_(PAID_STATUSES),
            period_clause(Order.sale_date, date_from, date_to),
        )
        .group_by(Order.fair_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Fair.code, Fair.name, Fair.date, Fair.status, sales.c.orders, sales.c.amount)
        .outerjoin(sales, sales.c.fair_id == Fair.id)
        .where(or_(period_clause(Fair.date, date_from, date_to), sales.c.fair_id.is_not(None)))
        .order_by(Fair.date, Fair.code)
    )
    result.fairs = [
        FairRow(code, name, day, status, int(orders or 0), int(amount or 0))
        for code, name, day, status, orders, amount in rows
    ]
    return result
