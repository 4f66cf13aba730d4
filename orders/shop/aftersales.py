"""After-sales (售后), per vendor part of an order: the buyer cancels a part not shipped
yet (refunded at once), or asks about a shipped one: refund only, or return and refund,
with a reason and photos. The vendor accepts (a return with the address to send it to)
or refuses with a reason; a refusal, or a request the vendor leaves unanswered for
``RESPONSE_DAYS``, may go to the bureau, which arbitrates. Every step is a guarded
change of the request's status under the order's lock; the money goes back through
the shop's one refund path (``refunds.refund_lines``), once per request (the refund's
key names it), with the stock restocked only for goods that came back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, String, cast, func, select

from catalog import files
from marketplace import audit
from marketplace.authz import require
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.unit_of_work import transition, unit_of_work
from orders.ledger.models import Order, OrderLine
from orders.shop.models import (
    OPEN_AFTER_SALES,
    AfterSalesKind,
    AfterSalesRequest,
    AfterSalesStatus,
    CancelledBy,
    Shipment,
    ShipmentStatus,
)
from orders.shop.notify import notify
from orders.shop.parts import complete_if_done, lock_order
from orders.shop.queries import buyer_order
from orders.shop.refunds import refund_lines, settle_quietly

RESPONSE_DAYS = 3  # a vendor silent this long: the buyer may ask the bureau
MAX_PHOTOS = 5
PHOTO_FOLDER = "aftersales"  # private: never served by the public media route
DELIVERED = (ShipmentStatus.SHIPPED, ShipmentStatus.AT_STATION, ShipmentStatus.RECEIVED)


def _part_of(order: Order, shipment_id: int) -> Shipment:
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        raise NotFound()
    return shipment


def _lines_of(order: Order, shipment: Shipment) -> list[OrderLine]:
    return [line for line in order.lines if line.vendor_id == shipment.vendor_id]


def _settle(refund_id: int | None, order: Order) -> None:
    if refund_id is not None:
        settle_quietly(refund_id)
        notify("refunded", order)


# ---------------------------------------------------------------- the buyer


def cancel_unshipped_part(buyer: User, order_id: int, shipment_id: int, reason: str) -> Order:
    """The buyer cancels one vendor's part that has not shipped (another vendor may have
    shipped already): its lines are refunded at once and go back on hand."""
    order = buyer_order(buyer, order_id)
    reason = (reason or "").strip() or _("买家取消")
    with unit_of_work():
        order = lock_order(order.id)
        shipment = _part_of(order, shipment_id)
        if not order.is_paid or not shipment.cancel(reason, utcnow(), CancelledBy.BUYER):
            raise IllegalTransition(_("该包裹已发货或已取消，不能取消"))
        lines = _lines_of(order, shipment)
        quantities = {line.id: line.quantity - line.refunded_quantity for line in lines}
        refund = refund_lines(
            order, quantities, reason, buyer, f"cancel-part-{shipment.id}", exact_key=True
        )
        complete_if_done(order, utcnow())
        audit.record(
            buyer, "order.cancel_part", order, object_type="orders", changes={"part": shipment.id}
        )
        refund_id = refund.id if refund is not None else None
    _settle(refund_id, order)
    return order


def request_after_sales(
    buyer: User,
    order_id: int,
    shipment_id: int,
    kind: str,
    reason: str,
    quantities: Mapping[int, int],
    photos: Sequence = (),
) -> AfterSalesRequest:
    """The buyer asks for a refund (or a return and refund) of some of a shipped part's
    goods, never more than is left unrefunded, one open request per part."""
    order = buyer_order(buyer, order_id)
    if kind not in set(AfterSalesKind):
        raise ValidationError(_("请选择售后类型"), {"kind": _("请选择售后类型")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写售后原因"), {"reason": _("请填写售后原因")})
    if len(photos) > MAX_PHOTOS:
        raise ValidationError(_("最多上传 %(n)d 张照片", n=MAX_PHOTOS))
    shipment = _part_of(order, shipment_id)
    lines = {line.id: line for line in _lines_of(order, shipment)}
    asked = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not asked:
        raise ValidationError(_("请选择要退款的商品"))
    for line_id, qty in asked.items():
        line = lines.get(line_id)
        if line is None or qty < 0 or qty > line.quantity - line.refunded_quantity:
            raise ValidationError(_("退款数量超出可退数量"))
    # outside the transaction, in the private folder: only may_see_photo's people see them
    stored = [files.store_image(photo, PHOTO_FOLDER) for photo in photos]
    names = [name for s in stored for name in (s.filename, s.thumb_filename)]
    try:
        with unit_of_work():
            order = lock_order(order.id)
            shipment = _part_of(order, shipment_id)
            if shipment.status not in DELIVERED:
                raise IllegalTransition(_("包裹尚未发货：请直接取消该包裹"))
            if _open_request(shipment.id) is not None:
                raise IllegalTransition(_("该包裹已有处理中的售后申请"))
            request = AfterSalesRequest(
                order_id=order.id,
                shipment_id=shipment.id,
                kind=kind,
                reason=reason[:1000],
                quantities={str(k): v for k, v in asked.items()},
                photos=[s.filename for s in stored],
            )
            db.session.add(request)
            db.session.flush()
            audit.record(
                buyer,
                "order.after_sales_request",
                order,
                object_type="orders",
                changes={"request": request.id, "kind": kind},
            )
    except BaseException:
        files.remove(PHOTO_FOLDER, *names)
        raise
    return request


def _open_request(shipment_id: int) -> AfterSalesRequest | None:
    return db.session.scalar(
        select(AfterSalesRequest).where(
            AfterSalesRequest.shipment_id == shipment_id,
            AfterSalesRequest.status.in_(OPEN_AFTER_SALES),
        )
    )


def buyer_request(buyer: User, request_id: int) -> AfterSalesRequest:
    request = db.session.get(AfterSalesRequest, request_id)
    if request is None or request.order.buyer_user_id != buyer.id:
        raise NotFound()
    return request


def send_return(buyer: User, request_id: int, carrier: str, tracking_no: str) -> AfterSalesRequest:
    """The buyer sent the goods of an accepted return back, with its tracking number."""
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if not carrier or not tracking_no:
        raise ValidationError(_("请填写快递公司和运单号"))
    request = buyer_request(buyer, request_id)
    with unit_of_work():
        lock_order(request.order_id)
        if not transition(
            request,
            AfterSalesStatus.ACCEPTED,
            status=AfterSalesStatus.RETURNED,
            return_carrier=carrier[:50],
            return_tracking=tracking_no[:60],
            returned_at=utcnow(),
        ):
            raise IllegalTransition(_("该售后申请当前状态不能填写退货单号"))
    return request


def escalate(buyer: User, request_id: int, now: datetime | None = None) -> AfterSalesRequest:
    """平台介入: the buyer asks the bureau to decide a refused request, or one the vendor
    has not answered within ``RESPONSE_DAYS``."""
    now = now or utcnow()
    request = buyer_request(buyer, request_id)
    if request.status == AfterSalesStatus.OPEN and request.created_at > now - timedelta(
        days=RESPONSE_DAYS
    ):
        raise IllegalTransition(
            _("商家还有时间处理：%(n)d 天内未处理可申请平台介入", n=RESPONSE_DAYS)
        )
    with unit_of_work():
        lock_order(request.order_id)
        moved = transition(
            request, AfterSalesStatus.REFUSED, status=AfterSalesStatus.DISPUTED, escalated_at=now
        ) or transition(
            request, AfterSalesStatus.OPEN, status=AfterSalesStatus.DISPUTED, escalated_at=now
        )
        if not moved:
            raise IllegalTransition(_("该售后申请当前状态不能申请平台介入"))
    return request


# ---------------------------------------------------------------- the vendor


def vendor_requests(actor: User, org, shipment: Shipment) -> list[AfterSalesRequest]:
    require(actor, "orders.fulfil", org)
    if shipment.vendor_id != org.id:
        raise NotFound()
    return list(
        db.session.scalars(
            select(AfterSalesRequest)
            .where(AfterSalesRequest.shipment_id == shipment.id)
            .order_by(AfterSalesRequest.id)
        )
    )


# what waits for the vendor: an answer, or the returned goods to be received
AWAITING_VENDOR = (AfterSalesStatus.OPEN, AfterSalesStatus.RETURNED)


def vendor_waiting(actor: User, org) -> Select:
    """The vendor's requests waiting for it (an answer, or the returned goods to be
    received), oldest first (a select to paginate)."""
    require(actor, "orders.fulfil", org)
    return (
        select(AfterSalesRequest)
        .join(AfterSalesRequest.shipment)
        .where(Shipment.vendor_id == org.id, AfterSalesRequest.status.in_(AWAITING_VENDOR))
        .order_by(AfterSalesRequest.created_at, AfterSalesRequest.id)
    )


def vendor_waiting_counts(actor: User, org, now: datetime) -> dict[str, int]:
    """How many of the vendor's requests wait for an answer, how many of those for more
    than ``RESPONSE_DAYS`` days (the buyer may now ask the bureau), and how many returns
    wait to be received."""
    require(actor, "orders.fulfil", org)
    late = AfterSalesRequest.created_at < now - timedelta(days=RESPONSE_DAYS)
    is_open = AfterSalesRequest.status == AfterSalesStatus.OPEN
    answer, overdue, receive = db.session.execute(
        select(
            func.count(AfterSalesRequest.id).filter(is_open),
            func.count(AfterSalesRequest.id).filter(is_open, late),
            func.count(AfterSalesRequest.id).filter(
                AfterSalesRequest.status == AfterSalesStatus.RETURNED
            ),
        )
        .join(AfterSalesRequest.shipment)
        .where(Shipment.vendor_id == org.id, AfterSalesRequest.status.in_(AWAITING_VENDOR))
    ).one()
    return {"answer": answer, "overdue": overdue, "receive": receive}


def vendor_request(actor: User, org, request_id: int) -> AfterSalesRequest:
    require(actor, "orders.fulfil", org)
    request = db.session.get(AfterSalesRequest, request_id)
    if request is None or request.shipment.vendor_id != org.id:
        raise NotFound()
    return request


def _refund(request: AfterSalesRequest, actor, reason: str, *, restock: bool) -> int | None:
    """In the caller's transaction (the order locked): the request's refund, once."""
    order = request.order
    quantities = {int(k): v for k, v in request.quantities.items()}
    record = refund_lines(
        order,
        quantities,
        reason,
        actor,
        f"after-sales-request-{request.id}",
        restock_lines=set(quantities) if restock else set(),
        exact_key=True,
    )
    request.refund_id = record.id if record is not None else None
    complete_if_done(order, utcnow())
    return request.refund_id


def accept(actor: User, org, request_id: int, return_address: str = "") -> AfterSalesRequest:
    """The vendor agrees: a refund-only request is refunded now (the goods stay with the
    buyer); a return waits for the goods, sent to ``return_address``."""
    request = vendor_request(actor, org, request_id)
    return_address = (return_address or "").strip()
    if request.kind == AfterSalesKind.RETURN and not return_address:
        message = _("请填写退货地址")
        raise ValidationError(message, {"return_address": message})
    refund_id = None
    with unit_of_work():
        lock_order(request.order_id)
        now = utcnow()
        if request.kind == AfterSalesKind.RETURN:
            ok = transition(
                request,
                AfterSalesStatus.OPEN,
                status=AfterSalesStatus.ACCEPTED,
                return_address=return_address[:300],
                decided_at=now,
            )
        else:
            ok = transition(
                request,
                AfterSalesStatus.OPEN,
                status=AfterSalesStatus.REFUNDED,
                decided_at=now,
                closed_at=now,
            )
            if ok:
                refund_id = _refund(
                    request, actor, _("售后仅退款：%(r)s", r=request.reason), restock=False
                )
        if not ok:
            raise IllegalTransition(_("该售后申请已处理"))
        audit.record(
            actor,
            "order.after_sales_accept",
            request.order,
            object_type="orders",
            org_id=org.id,
            changes={"request": request.id},
        )
    notify("after_sales", request.order)
    _settle(refund_id, request.order)
    return request


def refuse(actor: User, org, request_id: int, reason: str) -> AfterSalesRequest:
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写拒绝原因")
        raise ValidationError(message, {"refuse_reason": message})
    request = vendor_request(actor, org, request_id)
    with unit_of_work():
        lock_order(request.order_id)
        if not transition(
            request,
            AfterSalesStatus.OPEN,
            status=AfterSalesStatus.REFUSED,
            refuse_reason=reason[:1000],
            decided_at=utcnow(),
        ):
            raise IllegalTransition(_("该售后申请已处理"))
        audit.record(
            actor,
            "order.after_sales_refuse",
            request.order,
            object_type="orders",
            org_id=org.id,
            changes={"request": request.id},
        )
    notify("after_sales", request.order)
    return request


def receive_return(actor: User, org, request_id: int) -> AfterSalesRequest:
    """The returned goods arrived: they go back on hand and the buyer is refunded."""
    request = vendor_request(actor, org, request_id)
    with unit_of_work():
        lock_order(request.order_id)
        now = utcnow()
        if not transition(
            request, AfterSalesStatus.RETURNED, status=AfterSalesStatus.REFUNDED, closed_at=now
        ):
            raise IllegalTransition(_("该售后申请当前状态不能确认收到退货"))
        refund_id = _refund(request, actor, _("退货退款：%(r)s", r=request.reason), restock=True)
        audit.record(
            actor,
            "order.after_sales_return_received",
            request.order,
            object_type="orders",
            org_id=org.id,
            changes={"request": request.id},
        )
    _settle(refund_id, request.order)
    return request


# ---------------------------------------------------------------- the bureau


def disputes(actor: User, bureau) -> Select:
    """Requests waiting for the bureau's decision, oldest first (a select to paginate)."""
    require(actor, "orders.refund", bureau)
    return (
        select(AfterSalesRequest)
        .where(AfterSalesRequest.status == AfterSalesStatus.DISPUTED)
        .order_by(AfterSalesRequest.escalated_at, AfterSalesRequest.id)
    )


def arbitrate(actor: User, bureau, request_id: int, refund: bool, note: str) -> AfterSalesRequest:
    """The bureau decides a dispute: refund (the goods stay with the buyer unless they
    were returned) or close it, with a note the buyer and vendor see."""
    require(actor, "orders.refund", bureau)
    note = (note or "").strip()
    if not note:
        message = _("请填写处理意见")
        raise ValidationError(message, {"note": message})
    request = db.session.get(AfterSalesRequest, request_id)
    if request is None:
        raise NotFound()
    refund_id = None
    with unit_of_work():
        lock_order(request.order_id)
        now = utcnow()
        target = AfterSalesStatus.REFUNDED if refund else AfterSalesStatus.CLOSED
        if not transition(
            request,
            AfterSalesStatus.DISPUTED,
            status=target,
            bureau_note=note[:1000],
            closed_at=now,
        ):
            raise IllegalTransition(_("该售后申请已处理"))
        if refund:
            refund_id = _refund(
                request,
                actor,
                _("平台介入退款：%(r)s", r=note),
                restock=request.returned_at is not None,
            )
        audit.record(
            actor,
            "order.after_sales_arbitrate",
            request.order,
            object_type="orders",
            org_id=bureau.id,
            changes={"request": request.id, "refund": refund},
        )
    notify("after_sales", request.order)
    _settle(refund_id, request.order)
    return request


def may_see_photo(user: User, name: str) -> bool:
    """Only the buyer, the part's vendor staff and bureau staff see a request's photos."""
    from marketplace.authz import can

    for request in db.session.scalars(
        select(AfterSalesRequest).where(
            cast(AfterSalesRequest.photos, String).like(f"%{name}%", escape="\\")
        )
    ):
        if name not in request.photos:
            continue
        if request.order.buyer_user_id == user.id:
            return True
        if any(can(user, "orders.refund", m.org) for m in user.memberships):
            return True
        if any(
            m.org_id == request.shipment.vendor_id and can(user, "orders.fulfil", m.org)
            for m in user.memberships
        ):
            return True
    return False
