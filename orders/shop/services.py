"""The online shop's use cases: cart, checkout, payment, expiry, fulfilment, refunds.

Checkout reserves stock (conditional updates, so two buyers never get the last unit)
and creates the order in ``pending_payment``; a payment confirmed by the gateway (a
verified webhook, a verified retrieve, or the signed test-gateway form) goes through
``complete_payment``, which commits the reserved stock as sold and calls the ledger's
``mark_paid`` (the ledger's paid-sale core: attribution, stock, audit) in the same
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from catalog import pricing
from catalog.models import Product
from catalog.services import (
    NotCertified,
    ensure_sellable,
    unsellable_reason,
)
from marketplace import audit
from marketplace.clock import local_today
from marketplace.errors import DomainError, IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.publication import Aggregate, households_reached
from marketplace.unit_of_work import lock_row, transition, unit_of_work
from orders.ledger import services as ledger
from orders.models import (
    Attribution,
    CartItem,
    Channel,
    DeliveryMethod,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PickupPoint,
    Refund,
    RefundStatus,
    Shipment,
    ShipmentStatus,
)
from orders.shop.payments import GatewayError, gateway_named
from vendors import stock
from vendors.stock import Goods, OutOfStock, Ref

log = logging.getLogger(__name__)
MAX_QUANTITY = 999


class CheckoutError(DomainError):
    """The cart cannot be ordered as it is (empty, unsellable or unavailable items)."""


# ---------------------------------------------------------------- cart


@dataclass
class CartLine:
    product: Product
    quantity: int
    unit_price: int  # fen, from the server, never from the form
    problem: str | None = None

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


def cart_lines(items: Mapping[int, int], today: date | None = None) -> list[CartLine]:
    """The cart's lines with today's prices, each marked with why it cannot be ordered
    (not sellable, not enough stock), grouped by vendor then product."""
    today = today or local_today()
    products = (
        {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(items))))}
        if items
        else {}
    )
    lines = []
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None:
            continue
        problem = unsellable_reason(product, today)
        if problem is None:
            try:
                stock.ensure_available(product.id, quantity)
            except OutOfStock as exc:
                problem = (
                    _("库存仅剩 %(n)d %(unit)s", n=exc.available, unit=product.unit)
                    if exc.available
                    else _("已售罄")
                )
        lines.append(CartLine(product, quantity, pricing.unit_price(product, quantity), problem))
    return sorted(lines, key=lambda line: (line.product.vendor_id, line.product.id))


def check_addable(product_id: int, quantity: int, today: date | None = None) -> Product:
    """The product, if ``quantity`` of it may go in a cart today; else a clear error."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("数量必须在 1 到 %(n)d 之间", n=MAX_QUANTITY))
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    ensure_sellable(product, today or local_today())
    stock.ensure_available(product.id, quantity)
    return product


def stored_cart(user: User) -> dict[int, int]:
    return {
        item.product_id: item.quantity
        for item in db.session.scalars(
            select(CartItem).where(CartItem.user_id == user.id).order_by(CartItem.id)
        )
    }


def set_cart_quantity(user: User, product_id: int, quantity: int) -> None:
    """Put ``quantity`` of a product in a logged-in user's cart (0 removes it)."""
    with unit_of_work():
        item = db.session.scalar(
            select(CartItem).where(CartItem.user_id == user.id, CartItem.product_id == product_id)
        )
        if quantity <= 0:
            if item is not None:
                db.session.delete(item)
            return
        check_addable(product_id, quantity)
        if item is None:
            db.session.add(CartItem(user_id=user.id, product_id=product_id, quantity=quantity))
        else:
            item.quantity = quantity


def merge_cart(user: User, visitor_items: Mapping[int, int]) -> None:
    """At log-in, a visitor's session cart joins the stored one (quantities add up, capped
    at what may be ordered); items that can no longer be sold are dropped."""
    if not visitor_items:
        return
    with unit_of_work():
        stored = {
            item.product_id: item
            for item in db.session.scalars(select(CartItem).where(CartItem.user_id == user.id))
        }
        for product_id, quantity in visitor_items.items():
            product = db.session.get(Product, product_id)
            if product is None or unsellable_reason(product, local_today()):
                continue
            item = stored.get(product_id)
            total = min(quantity + (item.quantity if item else 0), MAX_QUANTITY)
            if item is None:
                db.session.add(CartItem(user_id=user.id, product_id=product_id, quantity=total))
            else:
                item.quantity = total


# ---------------------------------------------------------------- checkout


@dataclass
class Delivery:
    method: str  # DeliveryMethod
    recipient: str = ""
    phone: str = ""
    address: str = ""  # one line: province, city, district, detail
    pickup_point_id: int | None = None


def reservation_minutes() -> int:
    return int(current_app.config.get("ORDER_RESERVATION_MINUTES", 30))


def place_order(buyer: User, items: Mapping[int, int], delivery: Delivery, token: str) -> Order:
    """Create the order from the cart in ``pending_payment`` and reserve its stock, all or
    nothing. The same checkout token always gives the same order (double clicks)."""
    existing = db.session.scalar(select(Order).where(Order.checkout_token == token))
    if existing is not None:
        if existing.buyer_user_id != buyer.id:
            raise NotFound()
        return existing
    if not items:
        raise CheckoutError(_("购物车是空的"))
    if delivery.method == DeliveryMethod.PICKUP:
        point = db.session.get(PickupPoint, delivery.pickup_point_id or 0)
        if point is None or not point.active:
            raise ValidationError(_("请选择自提点"), {"pickup_point_id": _("请选择自提点")})
    elif delivery.method == DeliveryMethod.ADDRESS:
        if not (delivery.recipient and delivery.phone and delivery.address):
            raise ValidationError(_("请填写完整的收货地址"))
    else:
        raise ValidationError(_("请选择配送方式"))
    today = local_today()
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(items))))
    }
    if len(products) != len(items):
        raise CheckoutError(_("购物车中有已下架的商品，请刷新购物车"))
    try:
        with unit_of_work():
            order = ledger.create_order(
                Channel.ONLINE,
                [
                    ledger.SaleItem(products[pid], qty, pricing.unit_price(products[pid], qty))
                    for pid, qty in sorted(items.items())
                ],
                status=OrderStatus.PENDING_PAYMENT,
                buyer_user=buyer,
                day=today,
            )
            order.checkout_token = token
            order.delivery_method = delivery.method
            order.recipient = delivery.recipient or None
            order.phone = delivery.phone or None
            order.address = delivery.address or None
            order.pickup_point_id = (
                delivery.pickup_point_id if delivery.method == DeliveryMethod.PICKUP else None
            )
            order.expires_at = utcnow() + timedelta(minutes=reservation_minutes())
            stock.reserve(_stock_items(order), Ref("order", order.number, buyer))
            for vendor_id in sorted({line.vendor_id for line in order.lines}):
                order.shipments.append(Shipment(vendor_id=vendor_id))
            db.session.execute(
                CartItem.__table__.delete().where(
                    CartItem.user_id == buyer.id, CartItem.product_id.in_(list(items))
                )
            )
            audit.record(
                buyer, "order.place", order, object_type="orders", changes={"total": order.total}
            )
    except IntegrityError:
        # the same token submitted twice at the same moment: the other request won
        db.session.rollback()
        existing = db.session.scalar(select(Order).where(Order.checkout_token == token))
        if existing is None or existing.buyer_user_id != buyer.id:
            raise
        return existing
    except NotCertified as exc:
        raise CheckoutError(exc.message) from None
    return order


def _stock_items(
    order: Order, line_ids: set[int] | None = None, quantities: Mapping[int, int] | None = None
) -> list[Goods]:
    """The order's lines (or some, in the given quantities) as goods at the warehouse."""
    return [
        Goods(line.product_id, quantities[line.id] if quantities else line.quantity)
        for line in order.lines
        if line_ids is None or line.id in line_ids
    ]


def current_payment(order: Order) -> Payment | None:
    """The order's open attempt on the configured gateway, if it has one; creates nothing
    (what the payment page shows on a GET)."""
    from orders.shop.payments import gateway

    chosen = gateway()
    active = next(
        (
            p
            for p in order.payments
            if p.status == PaymentStatus.CREATED and p.provider == chosen.name
        ),
        None,
    )
    if active is not None and active.provider == "stripe":
        # the client secret is not stored: ask Stripe
        active.client_secret = gateway_named("stripe").client_secret(active.reference)
    return active


def start_payment(order: Order) -> Payment:
    """The open payment attempt of an unpaid order through the configured gateway, or a
    new one when it has none. Two pages opened at once compute the same attempt, and the
    gateway gives both the same reference (Stripe by the idempotency key): the second
    insert then finds the first one's row, and both pages continue that attempt."""
    from orders.shop.payments import gateway

    expire_if_due(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise IllegalTransition(_("订单当前状态不能付款"))
    active = current_payment(order)
    if active is not None:
        return active
    chosen = gateway()
    attempt = len(order.payments) + 1
    start = chosen.start(order, attempt)  # outside the transaction: a network call
    try:
        with unit_of_work():
            payment = Payment(
                order_id=order.id,
                provider=chosen.name,
                reference=start.reference,
                amount=order.total,
                currency="cny",
                status=PaymentStatus.CREATED,
            )
            db.session.add(payment)
    except IntegrityError:  # the same attempt, started by a concurrent request
        payment = db.session.scalar(
            select(Payment).where(
                Payment.provider == chosen.name, Payment.reference == start.reference
            )
        )
        if payment is None or payment.order_id != order.id:
            raise
    payment.client_secret = start.client_secret  # not stored: handed to Stripe.js only
    return payment


# ---------------------------------------------------------------- payment outcome


@dataclass
class Outcome:
    status: str  # "paid", "already_paid", "refunded", "ignored"
    order: Order | None = None
    message: str | None = None


def complete_payment(
    provider: str,
    reference: str,
    *,
    event_id: str | None = None,
    event_type: str = "payment_succeeded",
    method: str = "card",
) -> Outcome:
    """A payment the gateway confirmed: every channel (Stripe's webhook, the return
    page's retrieve, the test gateway) ends here. Idempotent: by event id (each event
    once) and by order status, read under the order's row lock and afresh, and changed
    by a guarded update (``mark_paid``), so the same confirmation arriving several times
    at once sells the order once and the others answer ``already_paid``. If the
    reservation had expired, the stock is reserved again when it can be; otherwise the
    payment is refunded in full (after the commit, see ``settle_refund``) and the buyer
    told why."""
    late_refund: Refund | None = None
    with unit_of_work():
        if event_id is not None and not _first_time(provider, event_id, event_type):
            return Outcome("ignored", message="duplicate event")
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.reference == reference)
        )
        if payment is None:
            log.warning("payment %s/%s: no such payment; acknowledged", provider, reference)
            return Outcome("ignored", message="unknown payment")
        # the instance loaded earlier in the request may say pending_payment although a
        # concurrent confirmation has paid it since: lock the row and read it afresh
        order = lock_row(Order, payment.order_id)
        payment.status = PaymentStatus.SUCCEEDED
        if order.is_paid:
            return Outcome("already_paid", order)
        if order.status == OrderStatus.CANCELLED:
            late_refund = _late_refund_of(payment) or _reserve_again_or_refund(order, payment)
        if late_refund is None:
            try:
                # the paid-sale core: the guarded claim, then the reserved stock leaves as
                # sold, attribution and audit, in this transaction
                ledger.mark_paid(
                    order, payment_method=method, actor="payment", stock_from=ledger.STOCK_RESERVED
                )
            except IllegalTransition:
                db.session.refresh(order)
                if order.is_paid:  # paid by a concurrent request (SQLite: no row locks)
                    return Outcome("already_paid", order)
                raise
            _record_event_order(provider, event_id, order)
        refund_id = late_refund.id if late_refund is not None else None
    if refund_id is not None:
        _settle_quietly(refund_id)
        _notify("refunded", order)
        return Outcome("refunded", order, order.note)
    _notify("paid", order)
    return Outcome("paid", order)


def _late_refund_of(payment: Payment) -> Refund | None:
    """The refund already owed for this payment of an order that was never sold (a
    repeated confirmation of a late payment must not reserve stock or refund again)."""
    return db.session.scalar(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id).limit(1)
    )


def _reserve_again_or_refund(order: Order, payment: Payment) -> Refund | None:
    """A payment for an order whose reservation expired: reserve its stock again and
    reopen it and its parts (None), all or nothing; if the stock is gone, record the
    full refund of the payment instead (the order stays cancelled)."""
    try:
        # a savepoint: a multi-line reservation that fails part-way leaves nothing
        with db.session.begin_nested():
            stock.reserve(_stock_items(order), Ref("order", order.number, "payment"))
            if not transition(order, OrderStatus.CANCELLED, status=OrderStatus.PENDING_PAYMENT):
                raise IllegalTransition(_("订单当前状态不能确认收款"))
            db.session.execute(
                update(Shipment)
                .where(Shipment.order_id == order.id, Shipment.status == ShipmentStatus.CANCELLED)
                .values(status=ShipmentStatus.PENDING, cancelled_at=None, cancel_reason=None)
            )
        return None
    except OutOfStock as exc:
        db.session.refresh(order)
        order.note = _("付款时预留已过期且库存不足，款项已全额退回：%(m)s", m=exc.message)
        refund = Refund(order_id=order.id, amount=payment.amount, reason=order.note)
        db.session.add(refund)
        # one late refund per payment: the key is unique
        _through_gateway(refund, payment, f"late-{order.number}-{payment.id}")
        audit.record(
            "system",
            "order.late_payment_refunded",
            order,
            object_type="orders",
            changes={"amount": payment.amount, "refund": refund.idempotency_key},
        )
        return refund


def confirm_test_payment(buyer: User, order_id: int, token: str, succeeded: bool) -> Outcome:
    """The local test gateway's 支付成功 / 支付失败 buttons. The posted token is signed,
    and must name this buyer's order, its amount and one of its test-gateway attempts;
    anything else (another order, a lower amount, a forged token) changes nothing.
    Success ends in ``complete_payment``, as a Stripe payment does."""
    from orders.shop.payments import InvalidWebhook, TestGateway, test_gateway_allowed

    order = buyer_order(buyer, order_id)
    refused = ValidationError(_("支付凭证无效，请返回订单重新发起支付"))
    if not test_gateway_allowed(current_app.config):
        raise refused  # a real gateway is configured: test payments move no money
    try:
        data = TestGateway(current_app.config).verify(token or "")
    except InvalidWebhook:
        raise refused from None
    payment = next(
        (p for p in order.payments if p.provider == "test" and p.reference == data["reference"]),
        None,
    )
    if (
        payment is None
        or data["order"] != order.number
        or data["amount"] != order.total
        or payment.amount != order.total
    ):
        raise refused
    if succeeded:
        return complete_payment("test", payment.reference)
    return payment_failed("test", payment.reference, _("测试支付：选择了支付失败"))


def payment_failed(
    provider: str, reference: str, message: str | None, *, event_id: str | None = None
) -> Outcome:
    """The attempt failed: mark it so the buyer can retry (the reservation stands)."""
    with unit_of_work():
        if event_id is not None and not _first_time(provider, event_id, "payment_failed"):
            return Outcome("ignored", message="duplicate event")
        payment = db.session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.reference == reference)
        )
        if payment is None:
            return Outcome("ignored", message="unknown payment")
        # guarded: a success confirmed at the same moment is never marked failed
        transition(
            payment,
            PaymentStatus.CREATED,
            status=PaymentStatus.FAILED,
            failure_message=(message or "")[:500] or None,
        )
        return Outcome("failed", payment.order)


def _first_time(provider: str, event_id: str, event_type: str) -> bool:
    """Record the event; False when it was already processed (unique constraint)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                PaymentEvent(provider=provider, event_id=event_id, event_type=event_type)
            )
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _record_event_order(provider: str, event_id: str | None, order: Order) -> None:
    if event_id is not None:
        db.session.execute(
            update(PaymentEvent)
            .where(PaymentEvent.provider == provider, PaymentEvent.event_id == event_id)
            .values(order_id=order.id, outcome="paid")
        )


def sync_payment(order: Order) -> Outcome | None:
    """The return page asks the gateway directly (a verified server-side retrieve)."""
    for payment in order.payments:
        if payment.provider != "stripe" or payment.status != PaymentStatus.CREATED:
            continue
        try:
            remote = gateway_named("stripe").state(payment.reference)
        except GatewayError:
            log.exception("retrieve failed for %s", payment.reference)
            return None
        if remote.status == "succeeded":
            return complete_payment("stripe", payment.reference)
        if remote.status == "failed":
            return payment_failed("stripe", payment.reference, remote.message)
    return None


# ---------------------------------------------------------------- expiry


def expire_if_due(order: Order, now: datetime | None = None) -> bool:
    """Release the reservation of an unpaid order past its time and cancel it. Safe to
    race with a payment: only one of them changes the order's status."""
    now = now or utcnow()
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at is None:
        return False
    if order.expires_at > now:
        return False
    with unit_of_work():
        if not transition(
            order,
            OrderStatus.PENDING_PAYMENT,
            status=OrderStatus.CANCELLED,
            note=_("超时未付款，订单已自动取消"),
            updated_at=now,
        ):
            return False
        stock.release(_stock_items(order), Ref("order", order.number, "expiry"))
        _cancel_parts(order, now)
        audit.record("system", "order.expire", order, object_type="orders")
    return True


def auto_complete_days() -> int:
    return int(current_app.config.get("ORDER_AUTO_COMPLETE_DAYS", 10))


def expire_orders(now: datetime | None = None) -> tuple[int, int]:
    """`flask orders expire`: cancel unpaid orders past their time (releasing stock),
    and complete shipped orders not confirmed within the auto-complete period (each
    order in its own short transaction, guarded like the buyer's confirmation, so a
    buyer confirming at the same moment is not confirmed twice)."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(Order)
            .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
            .order_by(Order.id)
            .limit(10_000)
        )
    )
    expired = sum(expire_if_due(order, now) for order in due)
    cutoff = now - timedelta(days=auto_complete_days())
    order_ids = list(
        db.session.scalars(
            select(Shipment.order_id)
            .where(Shipment.status == ShipmentStatus.SHIPPED, Shipment.shipped_at <= cutoff)
            .distinct()
            .order_by(Shipment.order_id)
            .limit(10_000)
        )
    )
    completed = 0
    for order_id in order_ids:
        with unit_of_work():
            order = _locked_order(order_id)
            for shipment in order.shipments:
                if (
                    shipment.status == ShipmentStatus.SHIPPED
                    and shipment.shipped_at <= cutoff
                    and transition(
                        shipment,
                        ShipmentStatus.SHIPPED,
                        status=ShipmentStatus.RECEIVED,
                        received_at=now,
                    )
                ):
                    completed += 1
            _complete_if_done(order, now)
    return expired, completed


def _locked_order(order_id: int) -> Order:
    """The order and its parts locked (order first, then its shipments by id: the same
    order in every use case) and read afresh with its lines, for a decision that must
    not rest on what the request loaded before."""
    order = lock_row(Order, order_id)
    if order is None:
        raise NotFound()
    fresh = {"populate_existing": True}
    db.session.scalars(
        select(Shipment)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.id)
        .with_for_update()
        .execution_options(**fresh)
    ).all()
    db.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).execution_options(**fresh)
    ).all()
    return order


def _cancel_part(shipment: Shipment, now: datetime, reason: str | None = None) -> bool:
    """A part waiting to ship is cancelled: a guarded change, False when it is not
    pending any more (shipped, or cancelled, by a request that got there first)."""
    return transition(
        shipment,
        ShipmentStatus.PENDING,
        status=ShipmentStatus.CANCELLED,
        cancelled_at=now,
        cancel_reason=reason,
    )


def _cancel_parts(order: Order, now: datetime, reason: str | None = None) -> None:
    """Cancel the order's parts still waiting to ship."""
    for shipment in order.shipments:
        if shipment.status == ShipmentStatus.PENDING:
            _cancel_part(shipment, now, reason)


def _complete_if_done(order: Order, now: datetime) -> None:
    """A paid order whose every part was received (or cancelled, with at least one
    received) becomes completed; call with the order locked and read afresh."""
    open_parts = [
        s for s in order.shipments if s.status in (ShipmentStatus.PENDING, ShipmentStatus.SHIPPED)
    ]
    received = [s for s in order.shipments if s.status == ShipmentStatus.RECEIVED]
    if order.status == OrderStatus.PAID and not open_parts and received:
        transition(order, OrderStatus.PAID, status=OrderStatus.COMPLETED, completed_at=now)


def _notify(kind: str, order: Order) -> None:
    sender = current_app.extensions.get("order_notifier")
    if sender is not None:
        try:
            sender(kind, order)
        except Exception:  # a notification never undoes a sale
            log.exception("notification %s for %s failed", kind, order.number)


# ---------------------------------------------------------------- buyer and vendor steps


def buyer_order(buyer: User, order_id: int) -> Order:
    """One of the buyer's own online orders; anyone else's id is ``NotFound``."""
    order = db.session.scalar(
        select(Order).where(
            Order.id == order_id, Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE
        )
    )
    if order is None:
        raise NotFound()
    expire_if_due(order)
    return order


def buyer_orders(buyer: User) -> Select:
    """The buyer's online orders, newest first (a select to paginate)."""
    return (
        select(Order)
        .where(Order.buyer_user_id == buyer.id, Order.channel == Channel.ONLINE)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def order_refunds(order: Order) -> list[Refund]:
    return list(
        db.session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    )


def order_impact(order: Order) -> Aggregate:
    """Whom the order helped, from its attribution rows net of refunds, as the public
    may see it (as on product pages): counts only, none below ``MIN_GROUP``."""
    rows = db.session.execute(
        select(Attribution.household_id, Attribution.village_id)
        .where(Attribution.order_id == order.id, Attribution.household_id.is_not(None))
        .group_by(Attribution.household_id, Attribution.village_id)
        .having(func.sum(Attribution.amount) > 0)
    ).all()
    return households_reached(village_id for _household, village_id in rows)


def _refund_lines(
    order: Order,
    quantities: Mapping[int, int],
    reason: str,
    actor: User | str,
    key: str,
    *,
    restock_lines: set[int] | None = None,
) -> Refund | None:
    """Refund some lines in full or part, in the caller's transaction (the order locked
    and read afresh): the ledger's opposite attribution rows, the restock, and the
    gateway refund owed (pending, with its own idempotency key). No gateway is called
    here: the caller settles the refund once this is committed (``settle_refund``).
    ``restock_lines`` limits the restock to those lines (goods already with the buyer
    do not come back on hand)."""
    items = [(line_id, qty) for line_id, qty in quantities.items() if qty > 0]
    if not items:
        return None
    back = {
        line_id: qty for line_id, qty in items if restock_lines is None or line_id in restock_lines
    }
    with unit_of_work():
        record = ledger.refund(order, items, reason=reason, actor=actor)
        if back:
            stock.restock(
                _stock_items(order, set(back), back),
                Ref("order", order.number, actor, note=reason),
            )
        payment = db.session.scalar(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.id)
            .limit(1)
        )
        if payment is not None:
            _through_gateway(record, payment, f"{key}-{record.id}")
    return record


def _remaining(order: Order, vendor_ids: set[int]) -> dict[int, int]:
    """Quantities not refunded yet of the lines of these vendors' parts."""
    return {
        line.id: line.quantity - line.refunded_quantity
        for line in order.lines
        if line.vendor_id in vendor_ids and line.quantity > line.refunded_quantity
    }


def cancel_by_buyer(buyer: User, order_id: int, reason: str) -> Order:
    """Before shipping: an unpaid order is cancelled (reservation released); a paid one
    has every part not yet shipped refunded and restocked. Guarded against the vendor
    shipping at the same moment: each part moves from pending to cancelled by a
    conditional update, under the order's lock, so either the parts are cancelled and
    refunded or the vendor's shipment stands and the buyer is told."""
    order = buyer_order(buyer, order_id)
    reason = (reason or "").strip() or _("买家取消")
    if order.status == OrderStatus.PENDING_PAYMENT:
        try:
            with unit_of_work():
                ledger.cancel_unpaid(order, reason=reason, actor=buyer)
                stock.release(_stock_items(order), Ref("order", order.number, buyer))
                _cancel_parts(order, utcnow(), reason)
            return order
        except IllegalTransition:
            if order.status == OrderStatus.CANCELLED:  # a second click, or expired
                raise IllegalTransition(_("订单已取消，无需重复操作")) from None
            if not order.is_paid:
                raise
            # paid at the same moment: cancelling it now is a refund, as below
    with unit_of_work():
        order = _locked_order(order.id)
        if not order.is_paid:
            raise IllegalTransition(_("订单当前状态不能取消"))
        shipped = (ShipmentStatus.SHIPPED, ShipmentStatus.RECEIVED)
        if any(s.status in shipped for s in order.shipments):
            raise IllegalTransition(_("已有商品发货，不能整单取消；请联系客服申请售后"))
        pending = [s for s in order.shipments if s.status == ShipmentStatus.PENDING]
        if not pending:
            raise IllegalTransition(_("订单已取消，无需重复操作"))
        now = utcnow()
        for shipment in pending:
            if not _cancel_part(shipment, now, reason):
                # shipped meanwhile (SQLite; on PostgreSQL the lock above saw it)
                raise IllegalTransition(_("已有商品发货，不能整单取消；请联系客服申请售后"))
        quantities = _remaining(order, {s.vendor_id for s in pending})
        refund = _refund_lines(order, quantities, reason, buyer, f"cancel-{order.number}")
        refund_id = refund.id if refund is not None else None
    if refund_id is not None:
        _settle_quietly(refund_id)
        _notify("refunded", order)
    return order


def confirm_receipt(buyer: User, order_id: int) -> Order:
    order = buyer_order(buyer, order_id)
    now = utcnow()
    with unit_of_work():
        order = _locked_order(order.id)
        received = 0
        for shipment in order.shipments:
            if shipment.status == ShipmentStatus.SHIPPED and transition(
                shipment, ShipmentStatus.SHIPPED, status=ShipmentStatus.RECEIVED, received_at=now
            ):
                received += 1
        if not received:
            raise IllegalTransition(_("没有待确认收货的包裹"))
        _complete_if_done(order, now)
        audit.record(buyer, "order.confirm_receipt", order, object_type="orders")
    return order


def vendor_shipment(actor: User, org, order_id: int) -> Shipment:
    """The vendor's own part of a paid online order; other vendors' parts are 404."""
    from marketplace.authz import can

    if not can(actor, "orders.fulfil", org):
        from marketplace.errors import Forbidden

        raise Forbidden(_("您没有权限执行此操作。"))
    shipment = db.session.scalar(
        select(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.order_id == order_id,
            Shipment.vendor_id == org.id,
            Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
        )
    )
    if shipment is None:
        raise NotFound()
    return shipment


def ship_part(actor: User, org, order_id: int, carrier: str, tracking_no: str) -> Shipment:
    """The vendor ships its part: a guarded change from pending, so a buyer cancelling
    (or the vendor cancelling, or a second click) at the same moment either wins before
    it, and this is refused with a clear message, or loses after it."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if not carrier or not tracking_no:
        raise ValidationError(_("请填写快递公司和运单号"))
    with unit_of_work():
        shipment = vendor_shipment(actor, org, order_id)
        if not transition(
            shipment,
            ShipmentStatus.PENDING,
            status=ShipmentStatus.SHIPPED,
            carrier=carrier[:50],
            tracking_no=tracking_no[:60],
            shipped_at=utcnow(),
        ):
            raise IllegalTransition(_("该包裹当前状态不能发货"))
        audit.record(
            actor,
            "order.ship",
            shipment.order,
            object_type="orders",
            org_id=org.id,
            changes={"carrier": carrier, "tracking_no": tracking_no},
        )
    _notify("shipped", shipment.order)
    return shipment


def cancel_part(actor: User, org, order_id: int, reason: str) -> Shipment:
    """The vendor cancels its own unshipped part with a reason: its lines are refunded.
    Guarded like shipping: of a cancellation and a shipment (or two cancellations) at
    the same moment exactly one happens."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写取消原因"), {"reason": _("请填写取消原因")})
    with unit_of_work():
        shipment = vendor_shipment(actor, org, order_id)
        order = _locked_order(shipment.order_id)
        now = utcnow()
        if not _cancel_part(shipment, now, reason):
            raise IllegalTransition(_("该包裹当前状态不能取消"))
        refund = _refund_lines(
            order,
            _remaining(order, {org.id}),
            reason,
            actor,
            f"vendor-cancel-{order.number}-{org.id}",
        )
        _complete_if_done(order, now)
        refund_id = refund.id if refund is not None else None
    if refund_id is not None:
        _settle_quietly(refund_id)
        _notify("refunded", order)
    return shipment


def after_sales_refund(
    actor: User, bureau, order_id: int, quantities: Mapping[int, int], reason: str
) -> Order:
    """Bureau staff refund (part of) a paid online order with a reason (售后), e.g. goods
    that arrived damaged. Never more than was paid for a line (the ledger refuses).
    Goods already shipped stay with the buyer; lines of a part not shipped yet go back
    on hand, and that part is cancelled once nothing of it is left to ship. Which parts
    are still in the warehouse is read under the lock (a vendor shipping at the same
    moment waits, or has shipped and nothing comes back on hand)."""
    from marketplace.authz import can
    from marketplace.errors import Forbidden

    if not can(actor, "orders.refund", bureau):
        raise Forbidden(_("您没有权限执行此操作。"))
    if not (reason or "").strip():
        raise ValidationError(_("请填写退款原因"), {"reason": _("请填写退款原因")})
    if any(qty < 0 for qty in quantities.values()):
        raise ValidationError(_("退款数量不能为负数"))
    quantities = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
    if not quantities:
        raise ValidationError(_("请选择要退款的商品"))
    order = db.session.get(Order, order_id)
    if order is None or order.channel != Channel.ONLINE:
        raise NotFound()
    with unit_of_work():
        order = _locked_order(order.id)
        pending = {s.vendor_id for s in order.shipments if s.status == ShipmentStatus.PENDING}
        in_warehouse = {line.id for line in order.lines if line.vendor_id in pending}
        refund = _refund_lines(
            order,
            quantities,
            reason,
            actor,
            f"after-sales-{order.number}",
            restock_lines=in_warehouse,
        )
        now = utcnow()
        for shipment in order.shipments:
            lines = [line for line in order.lines if line.vendor_id == shipment.vendor_id]
            if shipment.status == ShipmentStatus.PENDING and all(
                line.refunded_quantity >= line.quantity for line in lines
            ):
                _cancel_part(shipment, now, reason.strip())
        _complete_if_done(order, now)
        refund_id = refund.id if refund is not None else None
    if refund_id is not None:
        _settle_quietly(refund_id)
        _notify("refunded", order)
    return order


# ---------------------------------------------------------------- gateway refunds

# a request that claimed a gateway refund and did not finish (it died) is taken over
# after this long by the next attempt (`flask orders expire`)
REFUND_CLAIM = timedelta(minutes=2)


def _through_gateway(record: Refund, payment: Payment, key: str) -> Refund:
    """Mark a recorded refund as owed through ``payment``'s gateway: pending, with
    ``key`` as its idempotency key (stable: it is committed before any call)."""
    record.payment_id = payment.id
    record.status = RefundStatus.PENDING
    record.idempotency_key = key[:100]
    db.session.flush()
    return record


def settle_refund(refund_id: int, now: datetime | None = None) -> bool:
    """Give a recorded refund's money back through its gateway, outside any transaction
    or lock, at most once; True when this call settled it. The call is claimed first
    with a guarded update (a claim older than ``REFUND_CLAIM``, left by a request that
    died, may be taken over); the gateway is then asked for the refund made under the
    refund's idempotency key, and only makes a new one when there is none (see
    ``StripeGateway.refund``). A gateway error leaves it pending for the retry job."""
    now = now or utcnow()
    with unit_of_work():
        claimed = db.session.execute(
            update(Refund)
            .where(
                Refund.id == refund_id,
                Refund.status == RefundStatus.PENDING,
                or_(Refund.attempted_at.is_(None), Refund.attempted_at <= now - REFUND_CLAIM),
            )
            .values(attempted_at=now)
            .execution_options(synchronize_session=False)
        )
        owed = db.session.execute(
            select(Refund.amount, Refund.idempotency_key, Payment.provider, Payment.reference)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.id == refund_id)
        ).one_or_none()
    if claimed.rowcount != 1 or owed is None:
        return False
    try:
        gateway_ref = gateway_named(owed.provider).refund(
            owed.reference, owed.amount, owed.idempotency_key
        )
    except GatewayError:
        log.exception("refund %s: the gateway did not refund; left pending", refund_id)
        with unit_of_work():
            db.session.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
                .values(attempted_at=None)
                .execution_options(synchronize_session=False)
            )
        return False
    with unit_of_work():
        db.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.status == RefundStatus.PENDING)
            .values(status=RefundStatus.SUCCEEDED, gateway_ref=gateway_ref, settled_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def _settle_quietly(refund_id: int) -> None:
    """Right after a use case committed a refund: give the money back now if the
    gateway answers. The refund is recorded already, so any failure here (gateway,
    database) is logged and left to the retry job, never shown to the user as theirs."""
    try:
        settle_refund(refund_id)
    except Exception:
        db.session.rollback()
        log.exception("refund %s: settling failed; left for the retry job", refund_id)


def settle_refunds(now: datetime | None = None, limit: int = 1000) -> tuple[int, int]:
    """`flask orders expire`: retry the gateway refunds not confirmed yet; (settled,
    still pending)."""
    with unit_of_work():  # ends the read: no transaction is open during a gateway call
        pending = list(
            db.session.scalars(
                select(Refund.id)
                .where(Refund.status == RefundStatus.PENDING)
                .order_by(Refund.id)
                .limit(limit)
            )
        )
    settled = sum(settle_refund(refund_id, now) for refund_id in pending)
    return settled, len(pending) - settled


# ---------------------------------------------------------------- vendor and bureau pages


def _require(actor: User, org, action: str) -> None:
    from marketplace.authz import can
    from marketplace.errors import Forbidden

    if not can(actor, action, org):
        raise Forbidden(_("您没有权限执行此操作。"))


def vendor_parts(actor: User, org, status: str | None = None) -> Select:
    """The vendor's own parts of paid online orders, newest first (a select to paginate),
    optionally of one shipment status. Unpaid and never-paid orders are not shown."""
    _require(actor, org, "orders.fulfil")
    stmt = (
        select(Shipment)
        .join(Shipment.order)
        .where(
            Shipment.vendor_id == org.id,
            Order.channel == Channel.ONLINE,
            Order.status.in_([OrderStatus.PAID, OrderStatus.COMPLETED]),
        )
        .order_by(Order.paid_at.desc(), Shipment.id.desc())
    )
    if status:
        stmt = stmt.where(Shipment.status == status)
    return stmt


def vendor_lines(shipments: list[Shipment]) -> dict[int, list]:
    """The vendor's own lines of each shipment, by shipment id (one query for a page);
    other vendors' lines of the same orders are never loaded."""
    from orders.models import OrderLine

    if not shipments:
        return {}
    by_order = {(s.order_id, s.vendor_id): s.id for s in shipments}
    lines: dict[int, list] = {s.id: [] for s in shipments}
    rows = db.session.scalars(
        select(OrderLine)
        .where(
            OrderLine.order_id.in_([s.order_id for s in shipments]),
            OrderLine.vendor_id.in_({s.vendor_id for s in shipments}),
        )
        .order_by(OrderLine.id)
    )
    for line in rows:
        shipment_id = by_order.get((line.order_id, line.vendor_id))
        if shipment_id is not None:
            lines[shipment_id].append(line)
    return lines


def bureau_orders(actor: User, bureau, number: str = "") -> Select:
    """Online orders for after-sales, newest first (a select to paginate); ``number`` is
    a whole order number or its beginning."""
    _require(actor, bureau, "orders.refund")
    stmt = (
        select(Order)
        .where(Order.channel == Channel.ONLINE)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    number = (number or "").strip().upper()[:40]
    if number:
        stmt = stmt.where(Order.number.startswith(number, autoescape=True))
    return stmt


def bureau_order(actor: User, bureau, order_id: int) -> Order:
    """One online order as after-sales staff see it; other channels are 404."""
    _require(actor, bureau, "orders.refund")
    order = db.session.get(Order, order_id)
    if order is None or order.channel != Channel.ONLINE:
        raise NotFound()
    return order


# ---------------------------------------------------------------- pick-up points

PICKUP_POINT_FIELDS = ("name", "kind", "district", "town", "village", "address", "phone")
_PICKUP_LENGTHS = {
    "name": 200,
    "district": 50,
    "town": 50,
    "village": 50,
    "address": 300,
    "phone": 30,
}


def active_pickup_points(limit: int = 500) -> list[PickupPoint]:
    """The pick-up points a buyer can choose at checkout, by place."""
    return list(
        db.session.scalars(
            select(PickupPoint)
            .where(PickupPoint.active.is_(True))
            .order_by(PickupPoint.district, PickupPoint.town, PickupPoint.name)
            .limit(limit)
        )
    )


def pickup_points(actor: User, bureau, *, q: str = "", show_inactive: bool = True) -> Select:
    """The bureau's list of pick-up points by place (a select to paginate)."""
    _require(actor, bureau, "pickup_points.manage")
    stmt = select(PickupPoint).order_by(
        PickupPoint.active.desc(),
        PickupPoint.district,
        PickupPoint.town,
        PickupPoint.name,
        PickupPoint.id,
    )
    q = (q or "").strip()[:50]
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(
            PickupPoint.name.like(pattern)
            | PickupPoint.town.like(pattern)
            | PickupPoint.village.like(pattern)
        )
    if not show_inactive:
        stmt = stmt.where(PickupPoint.active.is_(True))
    return stmt


def pickup_point(actor: User, bureau, point_id: int) -> PickupPoint:
    _require(actor, bureau, "pickup_points.manage")
    point = db.session.get(PickupPoint, point_id)
    if point is None:
        raise NotFound()
    return point


def _pickup_values(data: Mapping[str, str | None], point_id: int | None) -> dict:
    """Trimmed, checked values: a village station names its village, the phone is a
    mobile or a landline, and an active point's name is unique in its town."""
    import re

    from orders.models import PickupKind

    values = {name: (data.get(name) or "").strip() for name in PICKUP_POINT_FIELDS}
    errors: dict[str, str] = {}
    for name in ("name", "district", "town", "address"):
        if not values[name]:
            errors[name] = _("请填写此项")
    if values["kind"] not in set(PickupKind):
        errors["kind"] = _("请选择服务站类型")
    elif values["kind"] == PickupKind.VILLAGE_STATION and not values["village"]:
        errors["village"] = _("村级电商服务站须填写所在村")
    for name, limit in _PICKUP_LENGTHS.items():
        if len(values[name]) > limit:
            errors[name] = _("不能超过 %(n)d 个字符", n=limit)
    if values["phone"] and not re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", values["phone"]):
        errors["phone"] = _("请输入有效的手机号或固定电话（如 0898-66668888）")
    if "name" not in errors and "town" not in errors:
        clash = db.session.scalar(
            select(PickupPoint.id).where(
                PickupPoint.name == values["name"],
                PickupPoint.town == values["town"],
                PickupPoint.active.is_(True),
                PickupPoint.id != (point_id or 0),
            )
        )
        if clash is not None:
            errors["name"] = _("该镇已有同名的自提点")
    if errors:
        raise ValidationError(_("请修正标出的项目"), errors)
    for name in ("village", "phone"):
        values[name] = values[name] or None
    return values


def create_pickup_point(actor: User, bureau, data: Mapping[str, str | None]) -> PickupPoint:
    """Add a village e-commerce station or town e-commerce service centre that buyers
    can choose at checkout."""
    _require(actor, bureau, "pickup_points.manage")
    values = _pickup_values(data, None)
    with unit_of_work():
        point = PickupPoint(active=True, **values)
        db.session.add(point)
        db.session.flush()
        audit.record(
            actor,
            "pickup_point.create",
            point,
            org_id=bureau.id,
            changes={k: v for k, v in values.items() if v},
        )
    return point


def update_pickup_point(
    actor: User, bureau, point_id: int, data: Mapping[str, str | None]
) -> PickupPoint:
    """Edit a pick-up point; orders already placed keep pointing at it."""
    point = pickup_point(actor, bureau, point_id)
    values = _pickup_values(data, point.id)
    with unit_of_work():
        changes = audit.diff(point, values)
        for name, value in values.items():
            setattr(point, name, value)
        if changes:
            audit.record(actor, "pickup_point.update", point, org_id=bureau.id, changes=changes)
    return point


def set_pickup_point_active(actor: User, bureau, point_id: int, active: bool) -> PickupPoint:
    """Deactivate a point (checkout stops offering and accepting it; orders placed
    before keep it) or make it available again."""
    point = pickup_point(actor, bureau, point_id)
    with unit_of_work():
        if point.active != active:
            if active:
                _pickup_values({n: getattr(point, n) for n in PICKUP_POINT_FIELDS}, point.id)
            point.active = active
            audit.record(
                actor,
                "pickup_point.activate" if active else "pickup_point.deactivate",
                point,
                org_id=bureau.id,
            )
    return point
