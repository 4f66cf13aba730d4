"""The shop's share of a person's data (the kernel's ``personal_data`` registry): what
"download my data" shows of their orders, and what "delete my account" removes.

Deleting keeps every order, line, payment, refund and attribution row (the ledger and
every report stay exactly as they were) and blanks what names the person: the
recipient becomes a tombstone, the phone, address and note are emptied, the reason and
photos of after-sales requests go, and the cart is emptied. An account with an unpaid
order, a part not yet delivered or an after-sales request in progress is not deleted:
the person is told to finish or cancel it first (as shops do), so no vendor is left with
a parcel and no address, and no refund is left without its buyer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from catalog import files
from marketplace.clock import to_local
from marketplace.extensions import db
from marketplace.models import User
from orders.ledger.models import Order, OrderStatus
from orders.shop.aftersales import PHOTO_FOLDER
from orders.shop.models import (
    OPEN_AFTER_SALES,
    AfterSalesRequest,
    CartItem,
    InvoiceRequest,
    InvoiceTitleKind,
    Shipment,
    ShipmentStatus,
)

TOMBSTONE = "已注销用户"


def _when(moment) -> str | None:
    return to_local(moment).isoformat() if moment else None


def _orders(user: User) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order).where(Order.buyer_user_id == user.id).order_by(Order.created_at, Order.id)
        )
    )


def _order(order: Order) -> dict[str, Any]:
    return {
        "number": order.number,
        "channel": order.channel,
        "status": order.status,
        "created_at": _when(order.created_at),
        "paid_at": _when(order.paid_at),
        "sale_date": order.sale_date.isoformat() if order.sale_date else None,
        "completed_at": _when(order.completed_at),
        "total_fen": order.total,
        "refunded_fen": order.refunded,
        "delivery_method": order.delivery_method,
        "recipient": order.recipient,
        "phone": order.phone,
        "address": order.address,
        "pickup_point": order.pickup_point.name if order.pickup_point else None,
        "note": order.note,
        "lines": [
            {
                "product": line.product_name,
                "unit": line.unit,
                "unit_price_fen": line.unit_price,
                "quantity": line.quantity,
                "amount_fen": line.amount,
                "refunded_quantity": line.refunded_quantity,
                "refunded_fen": line.refunded_amount,
                "vendor": line.vendor.name,
            }
            for line in order.lines
        ],
        "parts": [
            {
                "vendor": part.vendor.name,
                "status": part.status,
                "carrier": part.carrier,
                "tracking_no": part.tracking_no,
                "pickup_code": part.pickup_code,
                "shipped_at": _when(part.shipped_at),
                "received_at": _when(part.received_at),
                "cancelled_at": _when(part.cancelled_at),
                "cancel_reason": part.cancel_reason,
            }
            for part in order.shipments
        ],
        "payments": [
            {
                "provider": payment.provider,
                "amount_fen": payment.amount,
                "status": payment.status,
                "created_at": _when(payment.created_at),
            }
            for payment in order.payments
        ],
        "invoices": [
            {
                "vendor": invoice.vendor.name,
                "status": invoice.status,
                "title_kind": invoice.title_kind,
                "title": invoice.title,
                "tax_id": invoice.tax_id,
                "email": invoice.email,
                "invoice_no": invoice.invoice_no,
                "created_at": _when(invoice.created_at),
                "issued_at": _when(invoice.issued_at),
            }
            for invoice in db.session.scalars(
                select(InvoiceRequest)
                .where(InvoiceRequest.order_id == order.id)
                .order_by(InvoiceRequest.id)
            )
        ],
        "after_sales": [
            {
                "kind": request.kind,
                "status": request.status,
                "reason": request.reason,
                "photos": len(request.photos or []),
                "created_at": _when(request.created_at),
                "closed_at": _when(request.closed_at),
            }
            for request in order.after_sales
        ],
    }


class ShopPersonalData:
    """Orders with their lines, parts, payments and after-sales requests; the cart."""

    def export(self, user: User) -> dict[str, Any]:
        cart = db.session.scalars(
            select(CartItem).where(CartItem.user_id == user.id).order_by(CartItem.id)
        )
        return {
            "orders": [_order(order) for order in _orders(user)],
            "cart": [
                {
                    "product": item.product.name,
                    "quantity": item.quantity,
                    "added_at": _when(item.added_at),
                }
                for item in cart
            ],
        }

    def open_obligations(self, user: User) -> list[str]:
        unpaid = db.session.scalars(
            select(Order.number).where(
                Order.buyer_user_id == user.id, Order.status == OrderStatus.PENDING_PAYMENT
            )
        ).all()
        on_the_way = db.session.scalars(
            select(Order.number)
            .join(Shipment, Shipment.order_id == Order.id)
            .where(
                Order.buyer_user_id == user.id,
                Order.status == OrderStatus.PAID,
                Shipment.status.in_(
                    [ShipmentStatus.PENDING, ShipmentStatus.SHIPPED, ShipmentStatus.AT_STATION]
                ),
            )
            .distinct()
        ).all()
        after_sales = db.session.scalars(
            select(Order.number)
            .join(AfterSalesRequest, AfterSalesRequest.order_id == Order.id)
            .where(Order.buyer_user_id == user.id, AfterSalesRequest.status.in_(OPEN_AFTER_SALES))
            .distinct()
        ).all()
        reasons = [_("订单 %(n)s 尚未付款：请先付款或取消。", n=n) for n in unpaid]
        reasons += [_("订单 %(n)s 还有包裹未送达：请收货后再注销。", n=n) for n in on_the_way]
        reasons += [_("订单 %(n)s 有进行中的售后申请。", n=n) for n in after_sales]
        return reasons

    def erase(self, user: User) -> tuple[dict[str, int], Callable[[], None]]:
        mine = select(Order.id).where(Order.buyer_user_id == user.id).scalar_subquery()
        photos = [
            name
            for request in db.session.scalars(
                select(AfterSalesRequest).where(AfterSalesRequest.order_id.in_(mine))
            )
            for name in request.photos or []
        ]
        orders = db.session.execute(
            update(Order)
            .where(Order.buyer_user_id == user.id)
            .values(recipient=TOMBSTONE, phone=None, address=None, note=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        # a personal purchase names its buyer only here (an organization's stays)
        db.session.execute(
            update(Order)
            .where(Order.buyer_user_id == user.id, Order.buyer_org_id.is_(None))
            .values(buyer_name=None)
            .execution_options(synchronize_session=False)
        )
        requests = db.session.execute(
            update(AfterSalesRequest)
            .where(AfterSalesRequest.order_id.in_(mine))
            .values(reason=TOMBSTONE, photos=[], return_carrier=None, return_tracking=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        # an invoice issued to the person is the vendor's tax record and stays, but the
        # person's own title, tax id and e-mail go from a request not yet issued, and the
        # e-mail from every one
        invoices = db.session.execute(
            update(InvoiceRequest)
            .where(InvoiceRequest.order_id.in_(mine))
            .values(email=TOMBSTONE)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.execute(
            update(InvoiceRequest)
            .where(
                InvoiceRequest.order_id.in_(mine),
                InvoiceRequest.title_kind == InvoiceTitleKind.PERSONAL,
                InvoiceRequest.issued_at.is_(None),
            )
            .values(title=TOMBSTONE, tax_id=None)
            .execution_options(synchronize_session=False)
        )
        cart = db.session.execute(
            CartItem.__table__.delete().where(CartItem.user_id == user.id)
        ).rowcount
        thumbs = [f"{Path(n).stem}_t{Path(n).suffix}" for n in photos]

        def remove_photos() -> None:  # once the deletion has committed
            files.remove(PHOTO_FOLDER, *photos, *thumbs)

        counts = {"orders": orders, "after_sales": requests, "invoices": invoices}
        return {**counts, "cart_items": cart}, remove_photos
