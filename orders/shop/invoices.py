"""E-invoices (电子发票), per vendor part of a paid online order.

The buyer asks for one (at checkout, or later from the order page): a personal or a
company title, the company's taxpayer id, the e-mail to receive it; and may change it
while it is requested, or ask again after a rejection. The part's vendor issues it (the
invoice number and the PDF, kept in the private ``invoices`` upload folder) or rejects
it with a reason. Each step is a guarded change of the request's status, audited, and
tells the other side (inbox and e-mail). The PDF is sent only to the buyer, the vendor's
staff and the bureau; anyone else gets 404."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from catalog import files
from marketplace import audit
from marketplace.authz import can, require
from marketplace.credit_code import is_valid_tax_id, normalize
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.mail import send_mail
from marketplace.models import Organization, User, utcnow
from marketplace.notifications.services import Notice, link_to, notify_org, notify_users
from marketplace.unit_of_work import lock_row, transition, unit_of_work
from orders.ledger.models import PAID_STATUSES, Order, OrderStatus
from orders.shop.models import (
    InvoiceRequest,
    InvoiceStatus,
    InvoiceTitleKind,
    Shipment,
    ShipmentStatus,
)
from orders.shop.parts import lock_order
from orders.shop.queries import buyer_order

log = logging.getLogger(__name__)

PDF_FOLDER = "invoices"  # private: sent only through ``invoice_pdf``
MAX_PDF_BYTES = 5 * 1024 * 1024
FULFIL = "orders.fulfil"
BUREAU = "orders.refund"
INVOICE_FILTERS = tuple(InvoiceStatus)


@dataclass
class InvoiceDetails:
    """What the buyer fills in."""

    title_kind: str
    title: str
    tax_id: str = ""
    email: str = ""


def clean_details(details: InvoiceDetails) -> InvoiceDetails:
    """The details checked and tidied; ``ValidationError`` names each field at fault."""
    errors: dict[str, str] = {}
    kind = details.title_kind
    if kind not in set(InvoiceTitleKind):
        errors["title_kind"] = _("请选择发票抬头类型")
    title = (details.title or "").strip()
    if not title:
        errors["title"] = _("请填写发票抬头")
    elif len(title) > 200:
        errors["title"] = _("发票抬头不能超过 200 个字")
    tax_id = normalize(details.tax_id)
    if kind == InvoiceTitleKind.COMPANY and not tax_id:
        errors["tax_id"] = _("单位抬头须填写纳税人识别号")
    elif tax_id and not is_valid_tax_id(tax_id):
        errors["tax_id"] = _(
            "纳税人识别号应为 18 位统一社会信用代码，或 15、17、18、20 位税号，请核对"
        )
    email = (details.email or "").strip()
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = _("请填写接收电子发票的邮箱")
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    return InvoiceDetails(kind, title, tax_id if kind == InvoiceTitleKind.COMPANY else "", email)


def invoiceable(order: Order, shipment: Shipment) -> bool:
    """A part not cancelled, of an order placed (the checkout's request, still unpaid)
    or paid, may carry an invoice request; vendors see requests once it is paid."""
    return (
        order.status in (OrderStatus.PENDING_PAYMENT, *PAID_STATUSES)
        and shipment.status != ShipmentStatus.CANCELLED
    )


# ---------------------------------------------------------------- the buyer


def request_invoice(
    buyer: User, order_id: int, shipment_id: int, details: InvoiceDetails
) -> InvoiceRequest:
    """The buyer asks for an invoice for one part, or changes the request while it is
    still requested, or asks again after a rejection; an issued one is final."""
    order = buyer_order(buyer, order_id)
    details = clean_details(details)
    with unit_of_work():
        # the order and its parts locked and read afresh: a cancellation committed
        # meanwhile is seen, and two submissions of the form take turns
        order = lock_order(order.id)
        shipment = next((s for s in order.shipments if s.id == shipment_id), None)
        if shipment is None:
            raise NotFound()
        if not invoiceable(order, shipment):
            raise IllegalTransition(_("已取消的订单或包裹不能申请发票"))
        invoice = db.session.scalar(
            select(InvoiceRequest)
            .where(InvoiceRequest.shipment_id == shipment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        fields = {
            "title_kind": details.title_kind,
            "title": details.title,
            "tax_id": details.tax_id or None,
            "email": details.email,
            "updated_at": utcnow(),
        }
        if invoice is None:
            invoice = InvoiceRequest(
                order_id=order.id, shipment_id=shipment.id, vendor_id=shipment.vendor_id, **fields
            )
            db.session.add(invoice)
            db.session.flush()
            action, again = "invoice.request", False
        else:
            again = invoice.status == InvoiceStatus.REJECTED
            moved = transition(
                invoice,
                (InvoiceStatus.REQUESTED, InvoiceStatus.REJECTED),
                status=InvoiceStatus.REQUESTED,
                reject_reason=None,
                rejected_at=None,
                **fields,
            )
            if not moved:
                raise IllegalTransition(_("发票已开具，不能再修改"))
            action = "invoice.request" if again else "invoice.update"
        audit.record(
            buyer,
            action,
            invoice,
            object_type="invoice_requests",
            changes={"order": order.number, "title_kind": details.title_kind},
        )
    if action == "invoice.request" and order.is_paid:  # unpaid: the paid-order notice will do
        _tell_vendor(invoice, again)
    return invoice


def request_for_order(buyer: User, order_id: int, details: InvoiceDetails) -> list[InvoiceRequest]:
    """The same request for every vendor part of an order (the checkout's option)."""
    order = buyer_order(buyer, order_id)
    return [request_invoice(buyer, order.id, s.id, details) for s in order.shipments]


def pending_requests(order: Order) -> dict[int, InvoiceRequest]:
    """The order's invoice requests by part id, for its page."""
    return {invoice.shipment_id: invoice for invoice in order.invoice_requests}


# ---------------------------------------------------------------- the vendor


def vendor_invoices(actor: User, org: Organization, status: str | None = None) -> Select:
    """The vendor's invoice requests on paid orders, open ones first, newest first (a
    select to paginate), optionally of one status."""
    require(actor, FULFIL, org)
    stmt = (
        select(InvoiceRequest)
        .join(InvoiceRequest.order)
        .options(joinedload(InvoiceRequest.order))
        .where(InvoiceRequest.vendor_id == org.id, Order.status.in_(PAID_STATUSES))
        .order_by(InvoiceRequest.id.desc())
    )
    if status:
        stmt = stmt.where(InvoiceRequest.status == status)
    return stmt


def open_count(actor: User, org: Organization) -> int:
    """How many of the vendor's requests on paid orders wait to be issued."""
    stmt = vendor_invoices(actor, org, InvoiceStatus.REQUESTED)
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def vendor_invoice(actor: User, org: Organization, invoice_id: int) -> InvoiceRequest:
    """One of the vendor's own requests on a paid order; another vendor's is 404."""
    require(actor, FULFIL, org)
    invoice = db.session.scalar(
        select(InvoiceRequest)
        .join(InvoiceRequest.order)
        .where(
            InvoiceRequest.id == invoice_id,
            InvoiceRequest.vendor_id == org.id,
            Order.status.in_(PAID_STATUSES),
        )
    )
    if invoice is None:
        raise NotFound()
    return invoice


def vendor_part_invoice(actor: User, org: Organization, shipment: Shipment):
    """The request on the vendor's part (its order page), or None."""
    require(actor, FULFIL, org)
    return db.session.scalar(
        select(InvoiceRequest).where(
            InvoiceRequest.shipment_id == shipment.id, InvoiceRequest.vendor_id == org.id
        )
    )


def issue_invoice(
    actor: User, org: Organization, invoice_id: int, invoice_no: str, pdf
) -> InvoiceRequest:
    """The vendor records the invoice number and uploads the PDF (checked by its first
    bytes and its size); a request already issued or rejected is refused."""
    invoice = vendor_invoice(actor, org, invoice_id)
    invoice_no = (invoice_no or "").strip()
    if not invoice_no or len(invoice_no) > 40:
        message = _("请填写发票号码（不超过 40 个字符）")
        raise ValidationError(message, {"invoice_no": message})
    if pdf is None:
        message = _("请上传电子发票 PDF 文件")
        raise ValidationError(message, {"file": message})
    name = files.store_pdf(  # outside the transaction; removed again if it fails
        pdf,
        PDF_FOLDER,
        MAX_PDF_BYTES,
        _("发票文件不能超过 5 MB"),
        _("发票文件必须是 PDF 文件"),
    )
    try:
        with unit_of_work():
            invoice = lock_row(InvoiceRequest, invoice.id)
            if not transition(
                invoice,
                InvoiceStatus.REQUESTED,
                status=InvoiceStatus.ISSUED,
                invoice_no=invoice_no,
                pdf_file=name,
                issued_at=utcnow(),
            ):
                raise IllegalTransition(_("该发票申请已处理，不能再开具"))
            audit.record(
                actor,
                "invoice.issue",
                invoice,
                object_type="invoice_requests",
                changes={"invoice_no": invoice_no},
                org_id=org.id,
            )
    except BaseException:
        files.remove(PDF_FOLDER, name)
        raise
    _tell_buyer(invoice)
    return invoice


def reject_invoice(actor: User, org: Organization, invoice_id: int, reason: str) -> InvoiceRequest:
    """The vendor refuses a request, saying why; the buyer may correct it and ask again."""
    invoice = vendor_invoice(actor, org, invoice_id)
    reason = (reason or "").strip()
    if not reason:
        message = _("请填写不能开具的原因")
        raise ValidationError(message, {"reason": message})
    with unit_of_work():
        invoice = lock_row(InvoiceRequest, invoice.id)
        if not transition(
            invoice,
            InvoiceStatus.REQUESTED,
            status=InvoiceStatus.REJECTED,
            reject_reason=reason[:1000],
            rejected_at=utcnow(),
        ):
            raise IllegalTransition(_("该发票申请已处理"))
        audit.record(
            actor,
            "invoice.reject",
            invoice,
            object_type="invoice_requests",
            reason=reason[:1000],
            org_id=org.id,
        )
    _tell_buyer(invoice)
    return invoice


# ---------------------------------------------------------------- the PDF


def may_download(user, invoice: InvoiceRequest) -> bool:
    """The buyer of the order, the part's vendor staff, and bureau staff."""
    if not getattr(user, "is_authenticated", False):
        return False
    if invoice.order.buyer_user_id == user.id:
        return True
    for membership in user.memberships:
        if membership.org_id == invoice.vendor_id and can(user, FULFIL, membership.org):
            return True
        if can(user, BUREAU, membership.org):
            return True
    return False


def invoice_pdf(user, invoice_id: int) -> tuple[Path, str, str]:
    """The issued invoice's file, its type and a download name for someone allowed to
    see it; ``NotFound`` for everyone else (its existence is not revealed)."""
    invoice = db.session.get(InvoiceRequest, invoice_id)
    if invoice is None or not invoice.is_issued or not may_download(user, invoice):
        raise NotFound()
    located = files.path_for(PDF_FOLDER, invoice.pdf_file)
    if located is None:
        raise NotFound()
    path, mimetype = located
    return path, mimetype, f"invoice-{invoice.order.number}-{invoice.invoice_no}.pdf"


# ---------------------------------------------------------------- telling people


def _tell_vendor(invoice: InvoiceRequest, again: bool) -> None:
    order = invoice.order

    def compose() -> tuple[str, str]:
        title = _("订单 %(n)s 申请开具发票", n=order.number)
        return title, _("抬头：%(t)s", t=invoice.title)

    notify_org(
        invoice.vendor,
        Notice(
            kind="invoice.requested",
            compose=compose,
            link=link_to("orders.vendor_order", order_id=order.id),
            key=f"invoice-requested:{invoice.id}:{invoice.updated_at.isoformat()}"
            if again
            else f"invoice-requested:{invoice.id}",
        ),
    )


def _tell_buyer(invoice: InvoiceRequest) -> None:
    order = invoice.order
    buyer = db.session.get(User, order.buyer_user_id)
    if buyer is None:
        return
    issued = invoice.is_issued

    def compose() -> tuple[str, str]:
        if issued:
            title = _("订单 %(n)s 的发票已开具", n=order.number)
            body = _(
                "%(v)s 已开具发票，发票号码 %(no)s，请在订单页下载。",
                v=invoice.vendor.name,
                no=invoice.invoice_no,
            )
        else:
            title = _("订单 %(n)s 的发票申请未通过", n=order.number)
            body = _("原因：%(r)s", r=invoice.reject_reason)
        return title, body

    stamp = (invoice.issued_at or invoice.rejected_at or utcnow()).isoformat()
    notify_users(
        [buyer],
        Notice(
            kind="invoice.issued" if issued else "invoice.rejected",
            compose=compose,
            link=link_to("orders.order_detail", order_id=order.id),
            key=f"invoice-{invoice.status}:{invoice.id}:{stamp}",
        ),
    )
    if issued and invoice.email.lower() != (buyer.email or "").lower():
        title, body = compose()
        try:  # the address the buyer asked the invoice to be sent to
            send_mail(invoice.email, title, body)
        except Exception:  # a mail that fails never undoes the invoice
            log.exception("invoice mail for %s failed", order.number)
