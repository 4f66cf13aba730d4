"""The procurement workflow: one state machine, in this module only.

    draft -> submitted -> approved -> confirmed -> shipped -> accepted -> invoiced -> paid
    submitted -> draft (rejected by an approver), approved -> declined (by the vendor),
    draft | submitted | approved | confirmed -> cancelled (by the agency)

Every step is a guarded ``UPDATE ... WHERE status = <the state it leaves>``
(``marketplace.unit_of_work.transition``): of two concurrent requests exactly one moves
the order, the other raises ``IllegalTransition`` and changes nothing. Every step records
who, when and why (``ProcurementEvent``) and an audit row. Stock is reserved when the
vendor confirms, and at acceptance (验收) the received units leave as sold and the rest go
back to available. The sale enters the ledger when paid, through the paid-sale core, on
the payment date, with the agency as buyer organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, select

from marketplace import audit
from marketplace.authz import can, require
from marketplace.clock import local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, OrgKind, User, utcnow
from marketplace.unit_of_work import transition, unit_of_work
from orders.ledger import services as ledger
from orders.ledger.models import Channel, PaymentMethod
from vendors import stock
from vendors.stock import Goods, Ref

from .models import (
    DELIVERY_DAYS,
    ProcurementEvent,
    ProcurementLine,
    ProcurementOrder,
)
from .models import ProcurementStatus as S

# action -> (the states it may leave, the state it enters)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({S.DRAFT}), S.SUBMITTED),
    "approve": (frozenset({S.SUBMITTED}), S.APPROVED),
    "reject": (frozenset({S.SUBMITTED}), S.DRAFT),
    "confirm": (frozenset({S.APPROVED}), S.CONFIRMED),
    "decline": (frozenset({S.APPROVED}), S.DECLINED),
    "ship": (frozenset({S.CONFIRMED}), S.SHIPPED),
    "accept": (frozenset({S.SHIPPED}), S.ACCEPTED),
    "invoice": (frozenset({S.ACCEPTED}), S.INVOICED),
    "pay": (frozenset({S.INVOICED}), S.PAID),
    "cancel": (frozenset({S.DRAFT, S.SUBMITTED, S.APPROVED, S.CONFIRMED}), S.CANCELLED),
}
STOCK_HELD = frozenset({S.CONFIRMED, S.SHIPPED})  # the vendor's reservation stands
VENDOR_VISIBLE = frozenset(set(S) - {S.DRAFT, S.SUBMITTED})
MAX_TEXT = 500


def next_status(action: str, status: str) -> str:
    """The state ``action`` leads to from ``status``; ``IllegalTransition`` if none."""
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        raise IllegalTransition(_("订单当前状态不能执行此操作"))
    return target


def new_number(day: date | None = None) -> str:
    return "PO" + ledger.new_order_number(Channel.PROCUREMENT, day)[2:]


# ---------------------------------------------------------------- scope


def is_agency(org: Organization | None) -> bool:
    return org is not None and org.kind == OrgKind.AGENCY


def orders_of(org: Organization) -> Select:
    """The procurement orders ``org`` may see: an agency its own, a vendor those
    addressed to it once approved; nobody else any."""
    stmt = select(ProcurementOrder).order_by(ProcurementOrder.id.desc())
    if is_agency(org):
        return stmt.where(ProcurementOrder.agency_id == org.id)
    if org is not None and org.is_seller:
        return stmt.where(
            ProcurementOrder.vendor_id == org.id,
            ProcurementOrder.status.in_(VENDOR_VISIBLE),
            ProcurementOrder.approved_at.is_not(None),
        )
    return stmt.where(False)


def get_order(actor: User, org: Organization | None, order_id: int) -> ProcurementOrder:
    """The order, if ``actor`` belongs to ``org`` and ``org`` may see it; else ``NotFound``
    (another agency's or vendor's order is indistinguishable from a missing one)."""
    if org is None or actor.membership_in(org.id) is None or not org.is_verified:
        raise NotFound()
    order = db.session.scalar(orders_of(org).where(ProcurementOrder.id == order_id))
    if order is None:
        raise NotFound()
    return order


# ---------------------------------------------------------------- the state machine


def _move(
    order: ProcurementOrder,
    action: str,
    actor: User,
    comment: str | None = None,
    **values,
) -> str:
    """Move ``order`` by ``action`` with a guarded update; returns the state it left."""
    leaving = order.status
    target = next_status(action, leaving)
    if not transition(order, leaving, status=target, updated_at=utcnow(), **values):
        raise IllegalTransition(_("订单状态已被他人更改，请刷新后重试"))
    db.session.add(
        ProcurementEvent(
            order_id=order.id,
            action=action,
            from_status=leaving,
            to_status=target,
            actor_id=actor.id,
            comment=comment or None,
        )
    )
    audit.record(
        actor,
        f"procurement.{action}",
        order,
        changes={"status": {"old": leaving, "new": target}},
        reason=comment or None,
        org_id=order.agency_id,
    )
    return leaving


def _goods(order: ProcurementOrder, quantities: Mapping[int, int]) -> list[Goods]:
    return [
        Goods(line.product_id, quantities[line.id])
        for line in order.lines
        if quantities.get(line.id, 0) > 0
    ]


def _ref(order: ProcurementOrder, actor: User) -> Ref:
    return Ref("procurement", order.number, actor)


def clean_text(
    value: str | None, label: str, *, required: bool = True, limit: int = MAX_TEXT
) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("请填写%(what)s", what=label))
    if len(value) > limit:
        raise ValidationError(_("%(what)s不能超过 %(n)d 个字符", what=label, n=limit))
    return value


def _require_agency_side(actor: User, order: ProcurementOrder, action: str) -> None:
    require(actor, action, order.agency)


def _require_vendor_side(actor: User, order: ProcurementOrder) -> None:
    require(actor, "orders.fulfil", order.vendor)


# ---------------------------------------------------------------- agency steps


def submit(actor: User, org: Organization, order_id: int, comment: str = "") -> ProcurementOrder:
    """A draft (a new one, or one an approver sent back) goes to the approvers."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        _require_agency_side(actor, order, "procurement.order")
        _move(
            order,
            "submit",
            actor,
            comment,
            submitted_by_id=actor.id,
            submitted_at=utcnow(),
            deliver_by=local_today() + timedelta(days=order.delivery_days),
        )
    return order


def approve(actor: User, org: Organization, order_id: int, comment: str = "") -> ProcurementOrder:
    """An approver of the same agency, who did not submit the order, approves it."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        _require_agency_side(actor, order, "procurement.approve")
        if order.submitted_by_id == actor.id:
            require(actor, "procurement.approve", org, unless=_("提交人不能审批自己提交的订单"))
        _move(order, "approve", actor, comment, approved_by_id=actor.id, approved_at=utcnow())
    return order


def reject(actor: User, org: Organization, order_id: int, reason: str) -> ProcurementOrder:
    """Back to draft, with the approver's reason."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        _require_agency_side(actor, order, "procurement.approve")
        if order.submitted_by_id == actor.id:
            require(actor, "procurement.approve", org, unless=_("提交人不能审批自己提交的订单"))
        _move(order, "reject", actor, clean_text(reason, _("退回原因")))
    return order


def cancel(actor: User, org: Organization, order_id: int, reason: str) -> ProcurementOrder:
    """The agency cancels before shipping; a confirmed order's reserved stock goes back."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        require(actor, "procurement.order", org if is_agency(org) else None)
        _require_agency_side(actor, order, "procurement.order")
        left = _move(order, "cancel", actor, clean_text(reason, _("取消原因")))
        if left in STOCK_HELD:
            stock.release(
                _goods(order, {line.id: line.quantity for line in order.lines}),
                _ref(order, actor),
            )
    return order


def accept(
    actor: User,
    org: Organization,
    order_id: int,
    received: Mapping[int, int],
    comment: str = "",
) -> ProcurementOrder:
    """验收: the agency records what it received, line by line (at most what was shipped).
    Only what was received is billed; received units leave stock as sold, the rest of the
    reservation goes back to available."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        require(actor, "procurement.order", org if is_agency(org) else None)
        _require_agency_side(actor, order, "procurement.order")
        next_status("accept", order.status)
        quantities = {}
        for line in order.lines:
            value = received.get(line.id)
            if value is None or not 0 <= value <= (line.shipped_quantity or 0):
                raise ValidationError(
                    _(
                        "%(name)s 的实收数量必须在 0 到 %(n)d 之间",
                        name=line.product_name,
                        n=line.shipped_quantity or 0,
                    )
                )
            quantities[line.id] = value
        if not any(quantities.values()):
            raise ValidationError(_("没有收到任何商品，不能验收"))
        for line in order.lines:
            line.received_quantity = quantities[line.id]
        total = sum(line.received_amount for line in order.lines)
        _move(
            order,
            "accept",
            actor,
            comment,
            accepted_at=utcnow(),
            accepted_on=local_today(),
            accepted_by_id=actor.id,
            accepted_total=total,
        )
        ref = _ref(order, actor)
        stock.commit_sale(_goods(order, quantities), ref)
        returned = {line.id: line.quantity - quantities[line.id] for line in order.lines}
        if any(returned.values()):
            stock.release(_goods(order, returned), ref)
    return order


@dataclass
class TransferPayment:
    reference: str  # the bank transfer's reference (流水号)
    paid_on: date


def pay(
    actor: User, org: Organization, order_id: int, payment: TransferPayment
) -> ProcurementOrder:
    """The agency records its bank transfer, or the vendor confirms receiving it. The sale
    enters the ledger now, through the paid-sale core, on the payment date, for what was
    accepted, with the agency as the buyer organization."""
    with unit_of_work():
        order = get_order(actor, org, order_id)
        if is_agency(org):
            _require_agency_side(actor, order, "procurement.order")
        else:
            _require_vendor_side(actor, order)
        next_status("pay", order.status)
        reference = clean_text(payment.reference, _("转账流水号"), limit=100)
        if payment.paid_on > local_today():
            raise ValidationError(_("付款日期不能晚于今天"))
        if order.accepted_on and payment.paid_on < order.accepted_on:
            raise ValidationError(_("付款日期不能早于验收日期"))
        _move(order, "pay", actor, reference, payment_ref=reference, payment_date=payment.paid_on)
        sale = ledger.record_paid_sale(
            Channel.PROCUREMENT,
            [
                ledger.SaleItem(line.product, line.received_quantity, line.unit_price)
                for line in order.lines
                if line.received_quantity
            ],
            sale_date=payment.paid_on,
            payment_method=PaymentMethod.BANK_TRANSFER,
            buyer_user=order.submitted_by,
            buyer_org=order.agency,
            buyer_name=order.agency.name,
            actor=actor,
            check_sellable=False,  # checked when ordered; the goods were delivered
        )
        sale.note = order.number
        order.ledger_order_id = sale.id
    return order


# ---------------------------------------------------------------- vendor steps


def _vendor_order(actor: User, org: Organization, order_id: int) -> ProcurementOrder:
    order = get_order(actor, org, order_id)
    require(actor, "orders.fulfil", None if is_agency(org) else org)
    _require_vendor_side(actor, order)
    return order


def confirm(actor: User, org: Organization, order_id: int, comment: str = "") -> ProcurementOrder:
    """The vendor accepts the order; its stock is reserved for it (all lines or none)."""
    with unit_of_work():
        order = _vendor_order(actor, org, order_id)
        _move(order, "confirm", actor, comment)
        stock.reserve(
            _goods(order, {line.id: line.quantity for line in order.lines}), _ref(order, actor)
        )
    return order


def decline(actor: User, org: Organization, order_id: int, reason: str) -> ProcurementOrder:
    with unit_of_work():
        order = _vendor_order(actor, org, order_id)
        _move(order, "decline", actor, clean_text(reason, _("拒单原因")))
    return order


def ship(
    actor: User,
    org: Organization,
    order_id: int,
    shipped: Mapping[int, int],
    delivery_note: str = "",
) -> ProcurementOrder:
    """The delivery note: how many units of each line go out (at most those ordered)."""
    with unit_of_work():
        order = _vendor_order(actor, org, order_id)
        next_status("ship", order.status)
        note = clean_text(delivery_note, _("送货单号"), required=False, limit=100)
        quantities = {}
        for line in order.lines:
            value = shipped.get(line.id)
            if value is None or not 0 <= value <= line.quantity:
                raise ValidationError(
                    _(
                        "%(name)s 的发货数量必须在 0 到 %(n)d 之间",
                        name=line.product_name,
                        n=line.quantity,
                    )
                )
            quantities[line.id] = value
        if not any(quantities.values()):
            raise ValidationError(_("发货数量不能全部为零"))
        for line in order.lines:
            line.shipped_quantity = quantities[line.id]
        _move(order, "ship", actor, note, shipped_at=utcnow(), delivery_note=note or None)
    return order


@dataclass
class Invoice:
    number: str
    issued_on: date
    amount: int  # fen
    title: str  # the buyer's name as on the invoice (发票抬头)
    tax_id: str  # the buyer's taxpayer id (纳税人识别号)


def invoice(actor: User, org: Organization, order_id: int, data: Invoice) -> ProcurementOrder:
    """The vendor records its 发票 for what was accepted (the amount must match)."""
    with unit_of_work():
        order = _vendor_order(actor, org, order_id)
        next_status("invoice", order.status)
        number = clean_text(data.number, _("发票号码"), limit=50)
        title = clean_text(data.title, _("发票抬头"), limit=200)
        tax_id = clean_text(data.tax_id, _("纳税人识别号"), limit=20).upper()
        if not (tax_id.isalnum() and len(tax_id) in (15, 18, 20)):
            raise ValidationError(_("纳税人识别号应为 15、18 或 20 位字母数字"))
        if data.amount != order.accepted_total:
            raise ValidationError(_("发票金额必须等于验收金额"))
        if data.issued_on > local_today():
            raise ValidationError(_("开票日期不能晚于今天"))
        _move(
            order,
            "invoice",
            actor,
            number,
            invoice_no=number,
            invoice_date=data.issued_on,
            invoice_amount=data.amount,
            invoice_title=title,
            invoice_tax_id=tax_id,
        )
    return order


def actions_for(actor: User, org: Organization | None, order: ProcurementOrder) -> set[str]:
    """The steps ``actor`` may take on ``order`` now (the page shows their buttons)."""
    agency_steps = {
        "approve": "procurement.approve",
        "reject": "procurement.approve",
        "submit": "procurement.order",
        "accept": "procurement.order",
        "pay": "procurement.order",
        "cancel": "procurement.order",
    }
    vendor_steps = {"confirm", "decline", "ship", "invoice", "pay"}
    found = set()
    for action, (allowed, _target) in TRANSITIONS.items():
        if order.status not in allowed:
            continue
        if is_agency(org):
            permission = agency_steps.get(action)
            own = action in ("approve", "reject") and order.submitted_by_id == actor.id
            if permission and can(actor, permission, org) and not own:
                found.add(action)
        elif action in vendor_steps and org is not None and can(actor, "orders.fulfil", org):
            found.add(action)
    return found


def line_by_id(order: ProcurementOrder, line_id: int) -> ProcurementLine | None:
    return next((line for line in order.lines if line.id == line_id), None)


DELIVERY_CHOICES = DELIVERY_DAYS
