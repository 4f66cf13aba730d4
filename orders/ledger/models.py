"""The sales ledger's tables: one set of orders and lines for every channel (online,
procurement, fair, counter), the household attribution rows written when a sale is paid,
and refunds.

The ledger names no channel's class: the shop's parts, payments and pick-up point of an
online order (``order.shipments``, ``order.payments``, ``order.pickup_point``) are
declared from the shop's side (``orders/shop/models.py``), and the fair an order belongs
to by name only."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import BigId, Household, Organization, User, enum_values, utcnow

if TYPE_CHECKING:
    from orders.fairs.models import Fair


class Channel(enum.StrEnum):
    ONLINE = "online"
    PROCUREMENT = "procurement"
    FAIR = "fair"
    COUNTER = "counter"


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"  # online: stock reserved, waiting for payment
    PAID = "paid"  # counts in the ledger from here on
    COMPLETED = "completed"  # paid and received / accepted
    CANCELLED = "cancelled"  # never paid


PAID_STATUSES = (OrderStatus.PAID, OrderStatus.COMPLETED)


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"channel IN ({enum_values(Channel)})", name="channel"),
        CheckConstraint(f"status IN ({enum_values(OrderStatus)})", name="status"),
        CheckConstraint(
            f"payment_method IS NULL OR payment_method IN ({enum_values(PaymentMethod)})",
            name="payment_method",
        ),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("refunded >= 0 AND refunded <= total", name="refunded"),
        CheckConstraint("shipping_fen >= 0", name="shipping_fen"),
        CheckConstraint(
            "shipping_refunded_fen >= 0 AND shipping_refunded_fen <= shipping_fen",
            name="shipping_refunded_fen",
        ),
        Index("ix_orders_channel_sale_date", "channel", "sale_date"),
        Index("ix_orders_buyer_user", "buyer_user_id", "created_at"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        # the summary's money and order counts: paid orders by sale date, index-only
        Index(
            "ix_orders_paid_sale_date",
            "sale_date",
            postgresql_include=["channel", "total", "refunded", "certified_total"],
            postgresql_where=text("status IN ('paid', 'completed')"),
            sqlite_where=text("status IN ('paid', 'completed')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    # the sale (payment) date the reports count it on; set when it becomes paid
    sale_date: Mapped[date | None] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    buyer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    buyer_name: Mapped[str | None] = mapped_column(String(200))  # as given by the source
    fair_id: Mapped[int | None] = mapped_column(ForeignKey("fairs.id"))
    payment_method: Mapped[str | None] = mapped_column(String(20))
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)  # fen given back so far
    # ``total`` and ``refunded`` are the goods only (the ledger's sales: reports and
    # attribution read them); an online order's shipping fees (运费, the sum of its
    # parts' fees) and the part of them given back are kept apart. The buyer pays
    # ``amount_due`` = total + shipping_fen.
    shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # fen of the lines whose product was certified on the sale date, as sold (set when
    # paid; refunds of them are in the attribution rows)
    certified_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # imported sales: the source's sale_ref (unique); live sales: NULL
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # unpaid reservations
    # online orders: where the goods go (a delivery address or a pick-up point)
    delivery_method: Mapped[str | None] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(400))
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_points.id"))
    # the checkout form's one-time token: a double-clicked "place order" makes one order
    checkout_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    # shipments, payments, pickup_point: backrefs declared by orders/shop/models.py
    buyer_user: Mapped[User | None] = relationship()
    buyer_org: Mapped[Organization | None] = relationship()
    fair: Mapped[Fair | None] = relationship("Fair")

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def amount_due(self) -> int:
        """What the buyer pays: the goods and the shipping fees (fen)."""
        return self.total + self.shipping_fen

    @property
    def refunded_due(self) -> int:
        """What the buyer got back of ``amount_due`` (goods and shipping, fen)."""
        return self.refunded + self.shipping_refunded_fen

    # An online order's rules, read from its parts (one shipment per vendor, the shop's
    # ``shipments`` backref; other channels have none). A service deciding a write reads
    # them on the order locked and read afresh.

    @property
    def parts_to_ship(self) -> list:
        """The parts still waiting in their vendors' warehouses."""
        return [s for s in self.shipments if s.is_pending]

    @property
    def has_shipped_parts(self) -> bool:
        """Some part has left its vendor's warehouse (on its way or received)."""
        return any(s.has_shipped for s in self.shipments)

    @property
    def buyer_can_cancel(self) -> bool:
        """The buyer may cancel an unpaid order, or a paid one while nothing has shipped
        and something is still waiting to ship (its refund is then the whole order's)."""
        if self.status == OrderStatus.PENDING_PAYMENT:
            return True
        return (
            self.status == OrderStatus.PAID
            and not self.refunded_in_full
            and not self.has_shipped_parts
            and any(s.is_pending for s in self.shipments)
        )

    @property
    def refunded_in_full(self) -> bool:
        return bool(self.refunded) and self.refunded >= self.total

    @property
    def buyer_can_confirm_receipt(self) -> bool:
        """Some part is on its way to the buyer's address (a pick-up part is handed over at
        the station against its code instead)."""
        return self.delivery_method != "pickup" and any(s.is_in_transit for s in self.shipments)

    @property
    def ready_to_complete(self) -> bool:
        """A paid order with no part left to ship or to receive, and one received (an
        order whose every part was cancelled is refunded, not completed)."""
        return (
            self.status == OrderStatus.PAID
            and not any(s.is_open for s in self.shipments)
            and any(s.is_received for s in self.shipments)
        )


class OrderLine(db.Model):
    """One product in an order; name, unit, unit price and vendor are copied at sale time."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_quantity"
        ),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_amount"
        ),
        Index("ix_order_lines_order", "order_id"),
        Index("ix_order_lines_vendor", "vendor_id", "order_id"),
        Index("ix_order_lines_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[int] = mapped_column(BigInteger)  # fen
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # quantity x unit_price, fen
    # product certified on the sale date (set when paid)
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    vendor: Mapped[Organization] = relationship()


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # recorded; the payment gateway has not confirmed it gave it back
    SUCCEEDED = "succeeded"  # given back (by the gateway, or in person)


class Refund(db.Model):
    """Money given back for some quantity of one or more lines of a paid order (or, with
    no lines, a payment that arrived for an order that could no longer be sold).

    A refund through a payment gateway is recorded, and committed, before the gateway is
    asked (``pending``, with its own ``idempotency_key``); the gateway call is made
    outside any transaction, and a retry finds this row and reuses its key."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(RefundStatus)})", name="status"),
        # the retry job's queue: refunds the gateway has not confirmed yet
        Index(
            "ix_refunds_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, positive
    # of ``amount``, the shipping fees given back (the rest is the refund lines)
    shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(
        String(20), default=RefundStatus.SUCCEEDED, server_default=RefundStatus.SUCCEEDED
    )
    # the gateway payment the money goes back from (None: given back in person)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    # sent with every gateway call for this refund, and looked up before calling again
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # when a request last claimed the gateway call (a stale claim may be taken over)
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime)
    gateway_ref: Mapped[str | None] = mapped_column(String(100))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    lines: Mapped[list[RefundLine]] = relationship(cascade="all, delete-orphan")


class RefundLine(db.Model):
    __tablename__ = "refund_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class Attribution(db.Model):
    """A share of a paid line's amount credited to one household (or, with no household,
    the unattributed part). Refunds write opposite rows. Never updated or deleted.

    Channel, sale date, vendor, product, village and the certified flag are copied here
    so the reports aggregate this one table. The copies carry no foreign key of their own:
    each is the value of a row that has one (the order line's order, product and vendor,
    the household's village), and an import writes hundreds of thousands of these rows,
    where each foreign key is a lookup per row (4 of 6 lookups, most of the insert's cost
    on PostgreSQL). The line, the household and the refund keep theirs."""

    __tablename__ = "attributions"
    __table_args__ = (
        Index("ix_attributions_sale_date_channel", "sale_date", "channel"),
        Index("ix_attributions_household_date", "household_id", "sale_date"),
        Index("ix_attributions_line", "order_line_id"),
        # summary: does a household have a sale in a period (one probe per household-year)
        Index(
            "ix_attributions_household_sales",
            "household_id",
            "sale_date",
            postgresql_include=["order_line_id"],
            postgresql_where=text("refund_id IS NULL AND amount > 0"),
            sqlite_where=text("refund_id IS NULL AND amount > 0"),
        ),
        # summary: the unattributed part and the refund rows, both small
        Index(
            "ix_attributions_unattributed",
            "sale_date",
            postgresql_include=["amount"],
            postgresql_where=text("household_id IS NULL"),
            sqlite_where=text("household_id IS NULL"),
        ),
        Index(
            "ix_attributions_refunds",
            "sale_date",
            postgresql_include=["amount", "certified"],
            postgresql_where=text("refund_id IS NOT NULL"),
            sqlite_where=text("refund_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId)  # the line's order
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    village_id: Mapped[int | None] = mapped_column(Integer)  # the household's village
    product_id: Mapped[int] = mapped_column(Integer)  # the line's product
    vendor_id: Mapped[int] = mapped_column(Integer)  # the line's vendor
    channel: Mapped[str] = mapped_column(String(20))
    sale_date: Mapped[date] = mapped_column(Date)
    certified: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen; negative for refunds
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    household: Mapped[Household | None] = relationship()


MONTH_ROWS = "m"  # sales_rollup.span: one calendar month (month = its first day)
YEAR_ROWS = "y"  # one calendar year (month = 1 January), without the fair


# a rollup row's key: the one unique index the upserts of orders/ledger/rollup.py add to
ROLLUP_KEY = (
    "span",
    "month",
    "channel",
    "product_id",
    "vendor_id",
    "household_id",
    "village_id",
    "certified",
    "fair_id",
    "buyer_org_id",
    "buyer_name",
)


class SalesRollup(db.Model):
    """The attribution rows summed per calendar month and per everything a report groups
    by (channel, product, vendor, household, village, certified, fair, buyer), and again
    per calendar year (every key but the fair): what the bureau's reports, /impact and
    the home counter read instead of every attribution row.

    Kept in step by ``orders.ledger.rollup`` in the transaction that writes the
    attribution (paid sales, refunds, imports), and rebuilt from the attribution rows by
    ``flask report rebuild-rollup``. "None" is stored as 0 (ids) or '' (buyer name) so
    the key can be one unique index that an upsert adds to."""

    __tablename__ = "sales_rollup"
    __table_args__ = (
        CheckConstraint(f"span IN ('{MONTH_ROWS}', '{YEAR_ROWS}')", name="span"),
        Index("ux_sales_rollup_key", *ROLLUP_KEY, unique=True),
        # the dashboard's fair top list: the fair channel's month rows (half the month
        # rows), read index-only per fair
        Index(
            "ix_sales_rollup_fair_months",
            "fair_id",
            "month",
            "household_id",
            postgresql_include=["amount"],
            postgresql_where=text(f"span = '{MONTH_ROWS}' AND channel = 'fair'"),
            sqlite_where=text(f"span = '{MONTH_ROWS}' AND channel = 'fair'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    span: Mapped[str] = mapped_column(String(1))  # MONTH_ROWS or YEAR_ROWS
    month: Mapped[date] = mapped_column(Date)  # the first day of the month (or year)
    channel: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[int] = mapped_column(BigInteger)
    vendor_id: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[int] = mapped_column(BigInteger)  # 0: the unattributed part
    village_id: Mapped[int] = mapped_column(BigInteger)  # 0: none (unattributed)
    certified: Mapped[bool] = mapped_column(Boolean)
    fair_id: Mapped[int] = mapped_column(BigInteger)  # 0: not a fair sale
    buyer_org_id: Mapped[int] = mapped_column(BigInteger)  # 0: none
    buyer_name: Mapped[str] = mapped_column(String(200))  # '': none
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, net of refunds
