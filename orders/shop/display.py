"""How the buyer's pages show an order: status badges and labels, and its timeline."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.money import format_fen_grouped
from orders.ledger.models import Order, OrderStatus
from orders.shop.models import PickupKind, ShipmentStatus

ORDER_STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: (_l("待付款"), "warning text-dark"),
    OrderStatus.PAID: (_l("已付款"), "primary"),
    OrderStatus.COMPLETED: (_l("已完成"), "success"),
    OrderStatus.CANCELLED: (_l("已取消"), "secondary"),
}
REFUNDED_LABEL = (_l("已退款"), "danger")
SHIPMENT_LABELS = {
    ShipmentStatus.PENDING: _l("待发货"),
    ShipmentStatus.SHIPPED: _l("已发货"),
    ShipmentStatus.RECEIVED: _l("已收货"),
    ShipmentStatus.CANCELLED: _l("已取消"),
}
PICKUP_KIND_LABELS = {
    PickupKind.VILLAGE_STATION: _l("村级电商服务站"),
    PickupKind.TOWN_CENTRE: _l("镇级电商服务中心"),
}
PAYMENT_METHOD_LABELS = {
    "card": _l("银行卡"),
    "alipay": _l("支付宝"),
    "wechat": _l("微信支付"),
}


def order_badge(order: Order) -> tuple[str, str]:
    """(label, Bootstrap colour) of an order's status; fully refunded shows 已退款."""
    if order.refunded and order.refunded >= order.total:
        return REFUNDED_LABEL
    return ORDER_STATUS_LABELS.get(order.status, (order.status, "secondary"))


def order_timeline(order: Order, refunds) -> list[tuple[datetime, str, str]]:
    """(when, what, detail) of each step of the order, oldest first."""
    events: list[tuple[datetime, str, str]] = [(order.created_at, _("下单"), order.number)]
    if order.paid_at:
        method = PAYMENT_METHOD_LABELS.get(order.payment_method or "", "")
        events.append((order.paid_at, _("付款成功"), str(method)))
    for shipment in order.shipments:
        vendor = shipment.vendor.name
        if shipment.shipped_at:
            detail = f"{vendor} · {shipment.carrier or ''} {shipment.tracking_no or ''}"
            events.append((shipment.shipped_at, _("商家发货"), detail.strip()))
        if shipment.received_at:
            events.append((shipment.received_at, _("确认收货"), vendor))
        if shipment.cancelled_at and order.paid_at:
            events.append((shipment.cancelled_at, _("商家部分取消"), vendor))
    for refund in refunds:
        events.append(
            (
                refund.created_at,
                _("退款 ¥%(amount)s", amount=format_fen_grouped(refund.amount)),
                refund.reason,
            )
        )
    if order.status == OrderStatus.CANCELLED and not order.paid_at:
        events.append((order.updated_at, _("订单取消"), order.note or ""))
    if order.completed_at:
        events.append((order.completed_at, _("订单完成"), ""))
    return sorted(events, key=lambda event: event[0])
