"""Checkout: the cart becomes an order in ``pending_payment`` with its stock reserved
(conditional updates, so two buyers never get the last unit), all or nothing, for the
reservation time; the payment then completes it (``payment.complete_payment``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog import pricing
from catalog.models import Product
from catalog.sellability import NotCertified
from marketplace import audit
from marketplace.clock import local_today
from marketplace.errors import DomainError, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.unit_of_work import unit_of_work
from marketplace.web import CN_MOBILE
from orders.ledger import services as ledger
from orders.ledger.models import Channel, Order, OrderStatus
from orders.shop import shipping
from orders.shop.models import CartItem, DeliveryMethod, PickupPoint, Shipment
from orders.shop.parts import warehouse_goods
from orders.shop.station import new_pickup_code
from vendors import stock
from vendors.stock import Ref


class CheckoutError(DomainError):
    """The cart cannot be ordered as it is (empty, unsellable or unavailable items)."""


@dataclass
class Delivery:
    method: str  # DeliveryMethod
    recipient: str = ""
    phone: str = ""
    address: str = ""  # one line: province, city, district, detail
    pickup_point_id: int | None = None
    province: str = ""  # of the address: the vendors' fresh-goods rule reads it


def reservation_minutes() -> int:
    return int(current_app.config.get("ORDER_RESERVATION_MINUTES", 30))


def place_order(buyer: User, items: Mapping[int, int], delivery: Delivery, token: str) -> Order:
    """Create the order from the cart in ``pending_payment`` and reserve its stock, all or
    nothing. The same checkout token always gives the same order (double clicks)."""
    existing = _order_of_token(buyer, token)
    if existing is not None:
        return existing
    if not items:
        raise CheckoutError(_("购物车是空的"))
    _check_delivery(delivery)
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(items))))
    }
    if len(products) != len(items):
        raise CheckoutError(_("购物车中有已下架的商品，请刷新购物车"))
    parts = shipping.quote(
        [
            (products[pid], pricing.unit_price(products[pid], qty) * qty)
            for pid, qty in items.items()
        ],
        delivery.method,
        delivery.province,
    )
    shipping.ensure_deliverable(parts, delivery.province)
    try:
        with unit_of_work():
            order = _reserved_order(buyer, items, products, delivery, token, parts)
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


def _order_of_token(buyer: User, token: str) -> Order | None:
    """The order this checkout form already made, if any; another buyer's is 404."""
    existing = db.session.scalar(select(Order).where(Order.checkout_token == token))
    if existing is not None and existing.buyer_user_id != buyer.id:
        raise NotFound()
    return existing


def _check_delivery(delivery: Delivery) -> None:
    """An active pick-up point and the phone the station will know the buyer by, or a
    complete address."""
    if delivery.method == DeliveryMethod.PICKUP:
        point = db.session.get(PickupPoint, delivery.pickup_point_id or 0)
        if point is None or not point.active:
            raise ValidationError(_("请选择自提点"), {"pickup_point_id": _("请选择自提点")})
        if not CN_MOBILE.fullmatch(delivery.phone or ""):
            message = _("自提需要填写取货人手机号")
            raise ValidationError(message, {"pickup_phone": message})
    elif delivery.method == DeliveryMethod.ADDRESS:
        if not (delivery.recipient and delivery.phone and delivery.address):
            raise ValidationError(_("请填写完整的收货地址"))
    else:
        raise ValidationError(_("请选择配送方式"))


def _reserved_order(
    buyer: User,
    items: Mapping[int, int],
    products: Mapping[int, Product],
    delivery: Delivery,
    token: str,
    parts: Mapping[int, shipping.PartFee],
) -> Order:
    """In the caller's transaction: the ledger's order at today's prices, where it goes,
    its stock reserved, one part per vendor with its shipping fee, the cart emptied of
    it, and the audit row."""
    order = ledger.create_order(
        Channel.ONLINE,
        [
            ledger.SaleItem(products[pid], qty, pricing.unit_price(products[pid], qty))
            for pid, qty in sorted(items.items())
        ],
        status=OrderStatus.PENDING_PAYMENT,
        buyer_user=buyer,
        day=local_today(),
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
    stock.reserve(warehouse_goods(order), Ref("order", order.number, buyer))
    code = new_pickup_code(order.pickup_point_id) if order.pickup_point_id else None
    for vendor_id in sorted({line.vendor_id for line in order.lines}):
        # the fee from the lines as ordered (the same prices the quote used)
        goods = sum(line.amount for line in order.lines if line.vendor_id == vendor_id)
        fee = parts[vendor_id].rule.fee(goods, delivery.method)
        order.shipments.append(Shipment(vendor_id=vendor_id, pickup_code=code, shipping_fen=fee))
    order.shipping_fen = sum(s.shipping_fen for s in order.shipments)
    db.session.execute(
        CartItem.__table__.delete().where(
            CartItem.user_id == buyer.id, CartItem.product_id.in_(list(items))
        )
    )
    audit.record(
        buyer,
        "order.place",
        order,
        object_type="orders",
        changes={"total": order.total, "shipping": order.shipping_fen},
    )
    return order
