"""E-invoice pages: the buyer's request form (per vendor part), the vendor's list of
requests with its filter, issuing (number and PDF) or rejecting, and the PDF itself.

Views are thin: each calls one service of ``orders.shop.invoices`` and shows its domain
errors on the form or in a flash."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from marketplace.authz import org_required
from marketplace.errors import DomainError, ValidationError
from marketplace.pagination import paginate
from marketplace.web import flash_form_errors, form_errors, page_arg, page_size
from orders import bp
from orders.shop import invoices
from orders.shop.invoice_forms import InvoiceIssueForm, InvoiceRejectForm, InvoiceRequestForm
from orders.shop.queries import buyer_order

INVOICE_STATUS_LABELS = {
    "requested": _l("待开票"),
    "issued": _l("已开票"),
    "rejected": _l("未通过"),
}
INVOICE_TITLE_KIND_LABELS = {"personal": _l("个人"), "company": _l("单位")}


@bp.app_context_processor
def invoice_labels() -> dict:
    return {
        "INVOICE_STATUS_LABELS": INVOICE_STATUS_LABELS,
        "INVOICE_TITLE_KIND_LABELS": INVOICE_TITLE_KIND_LABELS,
    }


def details_of(form: InvoiceRequestForm) -> invoices.InvoiceDetails:
    return invoices.InvoiceDetails(
        title_kind=form.title_kind.data or "",
        title=form.title.data or "",
        tax_id=form.tax_id.data or "",
        email=form.email.data or "",
    )


# ---------------------------------------------------------------- the buyer


@bp.route("/orders/<bigint:order_id>/parts/<bigint:shipment_id>/invoice", methods=["GET", "POST"])
@login_required
def invoice_request(order_id: int, shipment_id: int):
    """Ask for an e-invoice for one vendor's part, or change the request."""
    order = buyer_order(current_user, order_id)
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        abort(404)
    existing = invoices.pending_requests(order).get(shipment.id)
    form = InvoiceRequestForm(obj=existing)
    if request.method == "GET" and existing is None:
        form.email.data = current_user.email
    if form.validate_on_submit():
        try:
            invoices.request_invoice(current_user, order.id, shipment.id, details_of(form))
        except ValidationError as exc:
            form_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "warning")
            return redirect(url_for("orders.order_detail", order_id=order.id))
        else:
            flash(_("发票申请已提交，商家开具后会通知您。"), "success")
            return redirect(url_for("orders.order_detail", order_id=order.id) + "#invoices")
    return render_template(
        "orders/shop/invoice_form.html",
        order=order,
        shipment=shipment,
        invoice=existing,
        form=form,
        open=invoices.invoiceable(order, shipment),
    ), (400 if form.errors else 200)


@bp.route("/invoices/<bigint:invoice_id>/pdf")
def invoice_download(invoice_id: int):
    """The issued PDF for the buyer, the vendor's staff and the bureau; 404 for anyone
    else, a visitor included."""
    path, mimetype, name = invoices.invoice_pdf(current_user, invoice_id)
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- the vendor


@bp.route("/vendor/invoices")
@org_required(invoices.FULFIL)
def vendor_invoices():
    status = request.args.get("status", "")
    if status not in invoices.INVOICE_FILTERS:
        status = ""
    page = paginate(
        invoices.vendor_invoices(current_user, g.org, status or None), page_arg(), page_size()
    )
    return render_template(
        "orders/vendor/invoices.html",
        page=page,
        status=status,
        issue_form=InvoiceIssueForm(),
        reject_form=InvoiceRejectForm(),
    )


def _back(invoice_id: int):
    invoice = invoices.vendor_invoice(current_user, g.org, invoice_id)
    return redirect(url_for("orders.vendor_order", order_id=invoice.order_id) + "#invoice")


@bp.route("/vendor/invoices/<bigint:invoice_id>/issue", methods=["POST"])
@org_required(invoices.FULFIL)
def vendor_invoice_issue(invoice_id: int):
    form = InvoiceIssueForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(invoice_id)
    try:
        upload = request.files.get("file")
        invoices.issue_invoice(
            current_user, g.org, invoice_id, form.invoice_no.data, upload if upload else None
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("发票已开具，已通知买家。"), "success")
    return _back(invoice_id)


@bp.route("/vendor/invoices/<bigint:invoice_id>/reject", methods=["POST"])
@org_required(invoices.FULFIL)
def vendor_invoice_reject(invoice_id: int):
    form = InvoiceRejectForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(invoice_id)
    try:
        invoices.reject_invoice(current_user, g.org, invoice_id, form.reason.data)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已告知买家不能开具的原因。"), "info")
    return _back(invoice_id)
