"""A vendor's bulk tools for its online orders: tracking numbers uploaded for many parts
at once (CSV or XLSX, all rows or none), the order list as a file, and packing slips
(发货单) for a batch of parts."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.authz import require
from marketplace.extensions import db
from marketplace.importing import Column, Importer, ImportSummary, Row, RowError, text
from marketplace.models import Organization, User
from orders.ledger.models import Channel, Order, OrderStatus
from orders.shop import queries
from orders.shop.fulfilment import record_shipment
from orders.shop.models import Shipment, ShipmentStatus
from orders.shop.notify import notify

SLIPS_LIMIT = 200  # packing slips printed at once


class TrackingImport(Importer):
    """``TrackingImport(actor, org=org)``: ``order_number,carrier,tracking_no``; each row
    ships the vendor's part of that order. An order that is not the vendor's (or not
    paid) is reported exactly like one that does not exist."""

    name = "tracking"
    title = _l("运单号")
    key = "order_number"
    examples = {
        "order_number": "ON20260315-7K3Q9D",
        "carrier": "顺丰速运",
        "tracking_no": "SF1234567890",
    }
    columns = [
        Column("order_number", parse=text(40)),
        Column("carrier", parse=text(50)),
        Column("tracking_no", parse=text(60)),
    ]

    def __init__(self, actor=None, *, org: Organization, **options):
        super().__init__(actor, **options)
        self.org = org
        self.shipped: list[Order] = []

    def _parts(self, rows: list[Row]) -> dict[str, tuple[int, str]]:
        numbers = [r["order_number"] for r in rows]
        return {
            number: (order_id, status)
            for number, order_id, status in db.session.execute(
                select(Order.number, Order.id, Shipment.status)
                .join(Shipment, Shipment.order_id == Order.id)
                .where(
                    Order.number.in_(numbers),
                    Shipment.vendor_id == self.org.id,
                    Order.channel == Channel.ONLINE,
                    Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
                )
            )
        }

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        require(self.actor, "orders.fulfil", self.org)
        parts = self._parts(rows)
        for row in rows:
            found = parts.get(row["order_number"])
            if found is None:
                yield RowError(row.number, "order_number", _("本店没有这个已付款订单"))
            elif found[1] != ShipmentStatus.PENDING:
                yield RowError(row.number, "order_number", _("该订单本店的商品已发货或已取消"))

    def write(self, rows: list[Row]) -> ImportSummary:
        parts = self._parts(rows)
        for row in rows:
            shipment = record_shipment(
                self.actor,
                self.org,
                parts[row["order_number"]][0],
                row["carrier"],
                row["tracking_no"],
            )
            self.shipped.append(shipment.order)
        return ImportSummary("tracking", {"shipped": len(rows)})

    def committed(self) -> None:
        for order in self.shipped:
            notify("shipped", order)


def slips(actor: User, org: Organization, order_ids: list[int]) -> list[Shipment]:
    """The vendor's parts of the given orders (others' ids are left out), or, with no ids,
    every part awaiting shipment; oldest payment first, at most ``SLIPS_LIMIT``."""
    stmt = queries.vendor_parts(actor, org, None if order_ids else ShipmentStatus.PENDING)
    if order_ids:
        stmt = stmt.where(Shipment.order_id.in_(order_ids[:SLIPS_LIMIT]))
    stmt = stmt.order_by(None).order_by(Order.paid_at, Shipment.id).limit(SLIPS_LIMIT)
    return list(db.session.scalars(stmt))
