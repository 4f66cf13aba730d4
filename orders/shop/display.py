"""How the buyer's pages show an order: status badges and labels, and its timeline."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.money import format_fen_grouped
from orders.ledger.models import Order, OrderStatus
from orders.shop.models import (
    AfterSalesKind,
    AfterSalesStatus,
    CancelledBy,
    PickupKind,
    ShipmentStatus,
)

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
    ShipmentStatus.AT_STATION: _l("到站待取"),
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


AFTER_SALES_KIND_LABELS = {
    AfterSalesKind.REFUND: _l("仅退款"),
    AfterSalesKind.RETURN: _l("退货退款"),
}
AFTER_SALES_STATUS_LABELS = {
    AfterSalesStatus.OPEN: _l("待商家处理"),
    AfterSalesStatus.ACCEPTED: _l("商家已同意，待买家退货"),
    AfterSalesStatus.RETURNED: _l("买家已退货，待商家收货"),
    AfterSalesStatus.REFUSED: _l("商家已拒绝"),
    AfterSalesStatus.DISPUTED: _l("平台介入处理中"),
    AfterSalesStatus.REFUNDED: _l("已退款"),
    AfterSalesStatus.CLOSED: _l("已关闭"),
}
CANCELLED_BY_LABELS = {
    CancelledBy.VENDOR: _l("商家取消发货"),
    CancelledBy.BUREAU: _l("售后取消"),
}


def pickup_code(order: Order) -> str | None:
    """The code the buyer collects a paid pick-up order with, while anything of it is
    still to be collected."""
    if not order.is_paid:
        return None
    open_parts = (ShipmentStatus.PENDING, ShipmentStatus.SHIPPED, ShipmentStatus.AT_STATION)
    return next(
        (s.pickup_code for s in order.shipments if s.pickup_code and s.status in open_parts),
        None,
    )


def order_timeline(order: Order, refunds) -> list[tuple[datetime, str, str]]:
    """(when, what, detail) of each step of the order, oldest first. A cancellation
    names who made it; the buyer cancelling several parts at once is one step."""
    events: list[tuple[datetime, str, str]] = [(order.created_at, _("下单"), order.number)]
    buyer_cancelled = []
    if order.paid_at:
        method = PAYMENT_METHOD_LABELS.get(order.payment_method or "", "")
        events.append((order.paid_at, _("付款成功"), str(method)))
    for shipment in order.shipments:
        vendor = shipment.vendor.name
        if shipment.shipped_at:
            detail = f"{vendor} · {shipment.carrier or ''} {shipment.tracking_no or ''}"
            events.append((shipment.shipped_at, _("商家发货"), detail.strip()))
        if shipment.arrived_at:
            events.append((shipment.arrived_at, _("到站待取"), vendor))
        if shipment.received_at:
            label = _("已取件") if shipment.arrived_at else _("确认收货")
            events.append((shipment.received_at, label, vendor))
        if shipment.cancelled_at and order.paid_at:
            if shipment.cancelled_by == CancelledBy.BUYER:
                buyer_cancelled.append(shipment)
            else:
                label = CANCELLED_BY_LABELS.get(shipment.cancelled_by, _l("部分取消"))
                events.append((shipment.cancelled_at, str(label), vendor))
    if buyer_cancelled:
        whole = len(buyer_cancelled) == len(order.shipments)
        events.append(
            (
                min(s.cancelled_at for s in buyer_cancelled),
                _("买家取消订单") if whole else _("买家取消部分商品"),
                buyer_cancelled[0].cancel_reason or "",
            )
        )
    for request in getattr(order, "after_sales", []):
        vendor = request.shipment.vendor.name
        kind = str(AFTER_SALES_KIND_LABELS.get(request.kind, request.kind))
        events.append((request.created_at, _("申请售后：%(k)s", k=kind), request.reason))
        if request.decided_at and request.refuse_reason:
            events.append((request.decided_at, _("商家拒绝售后"), request.refuse_reason))
        elif request.decided_at:
            events.append((request.decided_at, _("商家同意售后"), vendor))
        if request.returned_at:
            detail = f"{request.return_carrier or ''} {request.return_tracking or ''}".strip()
            events.append((request.returned_at, _("买家已退货"), detail))
        if request.escalated_at:
            events.append((request.escalated_at, _("申请平台介入"), vendor))
        if request.bureau_note and request.closed_at:
            events.append((request.closed_at, _("平台处理结果"), request.bureau_note))
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
