"""Online shipping fees (运费) for the bureau's reports: collected with online orders but
no sale, so never in the sales amounts, the attribution or ``report summary``; reported
as a figure of their own, net of the fees given back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import extract, func, select

from marketplace.extensions import db
from orders.ledger.models import PAID_STATUSES, Channel, Order
from orders.reports.summary import period_clause


def online_shipping(date_from: date | None, date_to: date | None) -> int:
    """Shipping fees (fen) of the paid online orders dated in the period, less the fees
    refunded (counted, like the goods' refunds, on the sale's date)."""
    return int(
        db.session.scalar(
            select(
                func.coalesce(func.sum(Order.shipping_fen - Order.shipping_refunded_fen), 0)
            ).where(
                Order.channel == Channel.ONLINE,
                Order.status.in_(PAID_STATUSES),
                Order.shipping_fen > 0,
                period_clause(Order.sale_date, date_from, date_to),
            )
        )
    )


def online_shipping_by_month(date_from: date | None, date_to: date | None) -> dict[str, int]:
    """``online_shipping`` per calendar month ("YYYY-MM") of the sale date."""
    year = extract("year", Order.sale_date)
    month = extract("month", Order.sale_date)
    rows = db.session.execute(
        select(year, month, func.sum(Order.shipping_fen - Order.shipping_refunded_fen))
        .where(
            Order.channel == Channel.ONLINE,
            Order.status.in_(PAID_STATUSES),
            Order.shipping_fen > 0,
            period_clause(Order.sale_date, date_from, date_to),
        )
        .group_by(year, month)
    )
    return {f"{int(y):04d}-{int(m):02d}": int(fen or 0) for y, m, fen in rows}
