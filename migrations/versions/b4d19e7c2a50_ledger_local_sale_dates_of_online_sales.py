"""ledger: online sales dated by their local payment date (data only)

Until this revision ``mark_paid`` dated a sale by the UTC date of its payment, so an
online order paid at 03:48 on 1 December in Beijing (19:48 UTC on 30 November) counted
in November. From now on the sale date is the local date in the configured zone
(``TIMEZONE``, Asia/Shanghai by default); this revision re-dates the rows written before.

Which rows: live online orders (``channel = 'online'`` and no ``external_ref``), the
only ones whose sale date came from the payment timestamp. Imported sales carry the
source's ``sale_ref`` in ``external_ref`` and an explicit date; fair, counter and
procurement sales are recorded with an explicit date: none of them is touched. Their
attribution rows (sales and refunds) carry the same sale date and follow. The certified
flags and household shares stay as they were written when the sale was recorded.

Works on SQLite and PostgreSQL: rows are read in id order and updated in chunks.

Revision ID: b4d19e7c2a50
Revises: e52dbbc89c91
Create Date: 2026-11-30 21:40:00

"""

import os
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4d19e7c2a50"
down_revision = "e52dbbc89c91"
branch_labels = None
depends_on = None

CHUNK = 1000

orders = sa.table(
    "orders",
    sa.column("id", sa.BigInteger),
    sa.column("channel", sa.String),
    sa.column("external_ref", sa.String),
    sa.column("paid_at", sa.DateTime),
    sa.column("sale_date", sa.Date),
)
attributions = sa.table(
    "attributions",
    sa.column("order_id", sa.BigInteger),
    sa.column("sale_date", sa.Date),
)


def _zone() -> ZoneInfo:
    name = None
    try:
        from flask import current_app

        name = current_app.config.get("TIMEZONE")
    except RuntimeError:  # alembic run without the Flask app
        pass
    return ZoneInfo(name or os.environ.get("TIMEZONE") or "Asia/Shanghai")


def _redate(old_date, new_date) -> None:
    """Set the sale date of every live online order whose stored date is
    ``old_date(paid_at)`` to ``new_date(paid_at)``, with its attribution rows."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(orders.c.id, orders.c.paid_at, orders.c.sale_date)
        .where(
            orders.c.channel == "online",
            orders.c.external_ref.is_(None),
            orders.c.paid_at.is_not(None),
            orders.c.sale_date.is_not(None),
        )
        .order_by(orders.c.id)
    ).all()
    changes = []
    for order_id, paid_at, sale_date in rows:
        if sale_date != old_date(paid_at):
            continue  # not the date this revision corrects: leave it as it is
        day = new_date(paid_at)
        if day != sale_date:
            changes.append({"b_id": order_id, "b_day": day})
    for start in range(0, len(changes), CHUNK):
        chunk = changes[start : start + CHUNK]
        bind.execute(
            orders.update()
            .where(orders.c.id == sa.bindparam("b_id"))
            .values(sale_date=sa.bindparam("b_day")),
            chunk,
        )
        bind.execute(
            attributions.update()
            .where(attributions.c.order_id == sa.bindparam("b_id"))
            .values(sale_date=sa.bindparam("b_day")),
            chunk,
        )


def upgrade():
    zone = _zone()
    _redate(
        old_date=lambda paid_at: paid_at.date(),
        new_date=lambda paid_at: paid_at.replace(tzinfo=UTC).astimezone(zone).date(),
    )


def downgrade():
    zone = _zone()
    _redate(
        old_date=lambda paid_at: paid_at.replace(tzinfo=UTC).astimezone(zone).date(),
        new_date=lambda paid_at: paid_at.date(),
    )
