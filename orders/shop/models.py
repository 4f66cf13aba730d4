"""The online shop's own tables: pick-up points, carts, each vendor's part of an order
(shipments), payment attempts and gateway events.

The shop declares its links to the ledger's orders here, as backrefs, so the ledger's
models name no channel: ``order.shipments``, ``order.payments`` and
``order.pickup_point`` exist once the mappers are configured (on first use)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from catalog.models import Product
from marketplace.extensions import db
from marketplace.models import BigId, Organization, User, enum_values, utcnow
from marketplace.unit_of_work import transition
from orders.ledger.models import Order


class DeliveryMethod(enum.StrEnum):
    ADDRESS = "address"
    PICKUP = "pickup"


class PickupKind(enum.StrEnum):
    VILLAGE_STATION = "village_station"  # 村级电商服务站
    TOWN_CENTRE = "town_centre"  # 镇级电商服务中心


class PickupPoint(db.Model):
    """A village e-commerce station or town e-commerce service centre where buyers can
    collect online orders; the bureau keeps the list."""

    __tablename__ = "pickup_points"
    __table_args__ = (CheckConstraint(f"kind IN ({enum_values(PickupKind)})", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    district: Mapped[str] = mapped_column(String(50))
    town: Mapped[str] = mapped_column(String(50))
    village: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # the orders collected here; declares ``order.pickup_point`` (read-only use)
    orders: Mapped[list[Order]] = relationship(backref="pickup_point")


class CartItem(db.Model):
    """A logged-in buyer's cart line (visitors keep theirs in the session)."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    product: Mapped[Product] = relationship()


class PickupPointStaff(db.Model):
    """A person who works at a pick-up point: records parts arriving (到站待取) and
    hands them over against the buyer's pick-up code (已取件). The bureau assigns them."""

    __tablename__ = "pickup_point_staff"
    __table_args__ = (UniqueConstraint("pickup_point_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pickup_point_id: Mapped[int] = mapped_column(
        ForeignKey("pickup_points.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    pickup_point: Mapped[PickupPoint] = relationship()
    user: Mapped[User] = relationship()


class ShippingRule(db.Model):
    """A vendor's shipping rule (运费规则) for delivered online orders: a flat fee per
    order part, free when the part's goods reach ``free_from_fen`` (包邮), and the
    provinces it does not deliver fresh goods (生鲜) to. A vendor without a rule
    ships free. Parts collected at a pick-up station pay no shipping."""

    __tablename__ = "shipping_rules"
    __table_args__ = (
        CheckConstraint("flat_fee_fen >= 0", name="flat_fee_fen"),
        CheckConstraint("free_from_fen IS NULL OR free_from_fen >= 0", name="free_from_fen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    flat_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # free shipping when the part's goods come to at least this (None: never free)
    free_from_fen: Mapped[int | None] = mapped_column(BigInteger)
    # province names as written in addresses (e.g. "西藏自治区")
    no_fresh_provinces: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    vendor: Mapped[Organization] = relationship()


class ShipmentStatus(enum.StrEnum):
    PENDING = "pending"  # paid, waiting for the vendor to ship
    SHIPPED = "shipped"
    AT_STATION = "at_station"  # a pick-up part arrived at the station (到站待取)
    RECEIVED = "received"  # delivered, or collected at the station (已取件)
    CANCELLED = "cancelled"


class CancelledBy(enum.StrEnum):
    """Who cancelled a part: the buyer's timeline names the right one."""

    BUYER = "buyer"
    VENDOR = "vendor"
    BUREAU = "bureau"  # after-sales staff
    SYSTEM = "system"  # an unpaid reservation that expired


class Shipment(db.Model):
    """One vendor's part of an online order: each vendor ships its own lines."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("order_id", "vendor_id"),
        CheckConstraint(f"status IN ({enum_values(ShipmentStatus)})", name="status"),
        CheckConstraint(f"cancelled_by IN ({enum_values(CancelledBy)})", name="cancelled_by"),
        CheckConstraint("shipping_fen >= 0", name="shipping_fen"),
        Index("ix_shipments_vendor_status", "vendor_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(20), default=ShipmentStatus.PENDING)
    carrier: Mapped[str | None] = mapped_column(String(50))
    tracking_no: Mapped[str | None] = mapped_column(String(60))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(10))
    # pick-up orders: the buyer's code (the same on every part of the order), and when
    # the station recorded the part's arrival
    pickup_code: Mapped[str | None] = mapped_column(String(8))
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 运费: the vendor's shipping fee for this part, fixed at checkout (0: free, or
    # picked up at a station); given back once, with the refund that refunds the whole
    # part (``shipping_refund_id``)
    shipping_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))

    order: Mapped[Order] = relationship(
        backref=backref("shipments", cascade="all, delete-orphan", order_by="Shipment.id")
    )
    vendor: Mapped[Organization] = relationship()

    @property
    def is_pending(self) -> bool:
        """Waiting in the vendor's warehouse: it may still ship or be cancelled."""
        return self.status == ShipmentStatus.PENDING

    @property
    def is_in_transit(self) -> bool:
        """Shipped, not received yet."""
        return self.status == ShipmentStatus.SHIPPED

    @property
    def is_received(self) -> bool:
        return self.status == ShipmentStatus.RECEIVED

    @property
    def has_shipped(self) -> bool:
        """Left the warehouse (on its way or received): its goods are with the buyer."""
        return self.status in (
            ShipmentStatus.SHIPPED,
            ShipmentStatus.AT_STATION,
            ShipmentStatus.RECEIVED,
        )

    @property
    def is_open(self) -> bool:
        """Something is still to happen to it (shipping or receiving)."""
        return self.status in (
            ShipmentStatus.PENDING,
            ShipmentStatus.SHIPPED,
            ShipmentStatus.AT_STATION,
        )

    @property
    def is_cancelled(self) -> bool:
        return self.status == ShipmentStatus.CANCELLED

    # The steps below are guarded changes (``transition``: one conditional UPDATE in the
    # caller's transaction, the row re-read after it). Each returns False, changing
    # nothing, when the part is no longer in the state the step starts from: a request
    # that got there first (the vendor shipping while the buyer cancels) wins, and the
    # caller tells the loser.

    def cancel(self, reason: str | None, now: datetime, by: str | None = None) -> bool:
        """A part waiting to ship is cancelled, with its reason, time and who (a
        ``CancelledBy``: the buyer's timeline names the right one)."""
        return transition(
            self,
            ShipmentStatus.PENDING,
            status=ShipmentStatus.CANCELLED,
            cancelled_at=now,
            cancel_reason=reason,
            cancelled_by=by,
        )

    def ship(self, carrier: str, tracking_no: str, now: datetime) -> bool:
        """A part waiting to ship leaves with its carrier and tracking number."""
        return transition(
            self,
            ShipmentStatus.PENDING,
            status=ShipmentStatus.SHIPPED,
            carrier=carrier[:50],
            tracking_no=tracking_no[:60] or None,
            shipped_at=now,
        )

    def receive(self, now: datetime) -> bool:
        """A part on its way is received (by the buyer, or when the auto-complete period
        has passed)."""
        return transition(
            self, ShipmentStatus.SHIPPED, status=ShipmentStatus.RECEIVED, received_at=now
        )

    def arrive_at_station(self, now: datetime) -> bool:
        """到站待取: a pick-up part on its way arrives at its station."""
        return transition(
            self, ShipmentStatus.SHIPPED, status=ShipmentStatus.AT_STATION, arrived_at=now
        )

    def hand_over(self, now: datetime) -> bool:
        """已取件: a part waiting at the station is collected against its code."""
        return transition(
            self, ShipmentStatus.AT_STATION, status=ShipmentStatus.RECEIVED, received_at=now
        )

    def reopen(self) -> bool:
        """A cancelled part waits to ship again (a late payment reserved its goods again),
        its cancellation forgotten."""
        return transition(
            self,
            ShipmentStatus.CANCELLED,
            status=ShipmentStatus.PENDING,
            cancelled_at=None,
            cancel_reason=None,
            cancelled_by=None,
        )


class PaymentStatus(enum.StrEnum):
    CREATED = "created"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class Payment(db.Model):
    """One payment attempt through a gateway (a Stripe PaymentIntent, or the local test
    gateway's signed token)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "reference"),
        CheckConstraint(f"status IN ({enum_values(PaymentStatus)})", name="status"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # "stripe" or "test"
    reference: Mapped[str] = mapped_column(String(100))  # e.g. the PaymentIntent id
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.CREATED)
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(
        backref=backref("payments", cascade="all, delete-orphan", order_by="Payment.id")
    )


class PaymentEvent(db.Model):
    """A gateway event (e.g. a Stripe event id), recorded in the same transaction that
    acts on it, so each event is processed exactly once however often it is delivered."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(60))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    outcome: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AfterSalesKind(enum.StrEnum):
    REFUND = "refund"  # 仅退款: the goods stay with the buyer
    RETURN = "return"  # 退货退款: the goods go back to the vendor first


class AfterSalesStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the vendor
    ACCEPTED = "accepted"  # a return accepted: waiting for the buyer to send it back
    RETURNED = "returned"  # sent back: waiting for the vendor to receive it
    REFUSED = "refused"  # the vendor said no (the buyer may ask the bureau)
    DISPUTED = "disputed"  # the bureau arbitrates
    REFUNDED = "refunded"
    CLOSED = "closed"  # the bureau refused it


# a part has at most one request in these at a time
OPEN_AFTER_SALES = (
    AfterSalesStatus.OPEN,
    AfterSalesStatus.ACCEPTED,
    AfterSalesStatus.RETURNED,
    AfterSalesStatus.REFUSED,
    AfterSalesStatus.DISPUTED,
)


class AfterSalesRequest(db.Model):
    """A buyer's after-sales request (售后) about one vendor's delivered part: refund only,
    or return and refund, of some quantities of its lines, with a reason and photos. The
    vendor accepts (a return with the address to send it to) or refuses with a reason;
    the bureau arbitrates a refusal or a request left unanswered. The money goes back
    through the shop's one refund path, once (the refund's key names the request)."""

    __tablename__ = "after_sales_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN ({enum_values(AfterSalesKind)})", name="kind"),
        CheckConstraint(f"status IN ({enum_values(AfterSalesStatus)})", name="status"),
        Index("ix_after_sales_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=AfterSalesStatus.OPEN)
    reason: Mapped[str] = mapped_column(Text)
    # {order line id (as text): quantity}
    quantities: Mapped[dict] = mapped_column(JSON)
    photos: Mapped[list] = mapped_column(JSON, default=list)  # stored image names
    return_address: Mapped[str | None] = mapped_column(String(300))
    return_carrier: Mapped[str | None] = mapped_column(String(50))
    return_tracking: Mapped[str | None] = mapped_column(String(60))
    refuse_reason: Mapped[str | None] = mapped_column(Text)
    bureau_note: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)  # accepted or refused
    returned_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)  # refunded or closed

    order: Mapped[Order] = relationship(
        backref=backref("after_sales", order_by="AfterSalesRequest.id", viewonly=True)
    )
    shipment: Mapped[Shipment] = relationship()


class InvoiceStatus(enum.StrEnum):
    REQUESTED = "requested"  # the buyer asked; the buyer may still change it
    ISSUED = "issued"  # the vendor recorded the number and uploaded the PDF
    REJECTED = "rejected"  # the vendor refused, with a reason; the buyer may ask again


class InvoiceTitleKind(enum.StrEnum):
    PERSONAL = "personal"  # 个人
    COMPANY = "company"  # 单位 (needs the tax id)


class InvoiceRequest(db.Model):
    """A buyer's request for an e-invoice (电子发票) for one vendor's part of an order:
    the title, the tax id for a company, the e-mail to receive it. The vendor issues it
    (its number and the PDF, kept in the private upload folder) or rejects it with a
    reason. One per part; the buyer edits it only while it is requested."""

    __tablename__ = "invoice_requests"
    __table_args__ = (
        CheckConstraint(f"status IN ({enum_values(InvoiceStatus)})", name="status"),
        CheckConstraint(f"title_kind IN ({enum_values(InvoiceTitleKind)})", name="title_kind"),
        Index("ix_invoice_requests_vendor_status", "vendor_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), unique=True
    )
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(10), default=InvoiceStatus.REQUESTED)
    title_kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    invoice_no: Mapped[str | None] = mapped_column(String(40))
    pdf_file: Mapped[str | None] = mapped_column(String(60))  # a generated name
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(
        backref=backref("invoice_requests", order_by="InvoiceRequest.id", viewonly=True)
    )
    shipment: Mapped[Shipment] = relationship()
    vendor: Mapped[Organization] = relationship()

    @property
    def buyer_can_edit(self) -> bool:
        return self.status in (InvoiceStatus.REQUESTED, InvoiceStatus.REJECTED)

    @property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED
