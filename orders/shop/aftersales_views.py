"""After-sales pages: the buyer's request about a part (and cancelling an unshipped
part), the vendor's answer, the bureau's arbitration, and the request photos (seen only
by those three). Views are thin: one call of ``aftersales`` each."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from catalog import files
from marketplace.authz import can, org_required
from marketplace.clock import utcnow
from marketplace.errors import DomainError, ValidationError
from marketplace.pagination import paginate
from marketplace.web import page_arg, page_size
from orders import bp
from orders.shop import aftersales
from orders.shop.forms import (
    AcceptForm,
    AfterSalesForm,
    ArbitrateForm,
    CancelOrderForm,
    RefuseForm,
    ReturnShippedForm,
)
from orders.shop.fulfilment_forms import line_quantities
from orders.shop.queries import buyer_order


def _back(order_id: int):
    return redirect(url_for("orders.order_detail", order_id=order_id))


# ---------------------------------------------------------------- the buyer


@bp.route("/orders/<bigint:order_id>/parts/<bigint:shipment_id>/cancel", methods=["POST"])
@login_required
def cancel_part_buyer(order_id: int, shipment_id: int):
    form = CancelOrderForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        aftersales.cancel_unshipped_part(current_user, order_id, shipment_id, form.reason.data)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("该包裹已取消，款项将按原支付方式退回。"), "success")
    return _back(order_id)


@bp.route(
    "/orders/<bigint:order_id>/parts/<bigint:shipment_id>/after-sales", methods=["GET", "POST"]
)
@login_required
def after_sales_new(order_id: int, shipment_id: int):
    order = buyer_order(current_user, order_id)
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        abort(404)
    lines = [line for line in order.lines if line.vendor_id == shipment.vendor_id]
    form = AfterSalesForm()
    code = 200
    if form.validate_on_submit():
        photos = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
        try:
            aftersales.request_after_sales(
                current_user,
                order.id,
                shipment.id,
                form.kind.data,
                form.reason.data,
                line_quantities(request.form, lines),
                [f.stream for f in photos],
            )
        except ValidationError as exc:
            flash(exc.message, "danger")
            code = 400
        except DomainError as exc:
            flash(exc.message, "danger")
            return _back(order.id)
        else:
            flash(_("售后申请已提交，商家处理后会通知您。"), "success")
            return _back(order.id)
    elif request.method == "POST":
        code = 400
    return render_template(
        "orders/shop/after_sales_new.html", order=order, shipment=shipment, lines=lines, form=form
    ), code


@bp.route("/after-sales/<bigint:request_id>/return", methods=["POST"])
@login_required
def after_sales_return(request_id: int):
    form = ReturnShippedForm()
    req = aftersales.buyer_request(current_user, request_id)
    if not form.validate_on_submit():
        flash(_("请填写快递公司和运单号"), "danger")
        return _back(req.order_id)
    try:
        aftersales.send_return(current_user, request_id, form.carrier.data, form.tracking_no.data)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已提交退货单号，商家收到退货后退款。"), "success")
    return _back(req.order_id)


@bp.route("/after-sales/<bigint:request_id>/escalate", methods=["POST"])
@login_required
def after_sales_escalate(request_id: int):
    if not CancelOrderForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        req = aftersales.escalate(current_user, request_id)
    except DomainError as exc:
        req = aftersales.buyer_request(current_user, request_id)
        flash(exc.message, "warning")
    else:
        flash(_("已申请平台介入，市乡村振兴局将尽快处理。"), "success")
    return _back(req.order_id)


@bp.route("/after-sales/photo/<name>")
def after_sales_photo(name: str):
    """A request's photo, from the private folder, for the buyer, the part's vendor
    staff and bureau staff; 404 for anyone else, a visitor included."""
    if not current_user.is_authenticated:
        abort(404)
    located = files.path_for(aftersales.PHOTO_FOLDER, name)
    if located is None or not aftersales.may_see_photo(current_user, name):
        abort(404)
    path, mimetype = located
    response = send_file(path, mimetype=mimetype, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- the vendor


def after_sales_panel(user, org) -> Markup:
    """The vendor dashboard's panel: after-sales requests waiting for the vendor."""
    if not can(user, "orders.fulfil", org):
        return Markup("")
    counts = aftersales.vendor_waiting_counts(user, org, utcnow())
    return Markup(
        render_template(
            "orders/vendor/_today_after_sales.html",
            counts=counts,
            days=aftersales.RESPONSE_DAYS,
        )
    )


@bp.route("/vendor/after-sales")
@org_required("orders.fulfil")
def vendor_after_sales():
    """The vendor's after-sales requests waiting for it, oldest first."""
    page = paginate(aftersales.vendor_waiting(current_user, g.org), page_arg(), page_size())
    return render_template(
        "orders/vendor/after_sales.html",
        page=page,
        late_before=utcnow() - timedelta(days=aftersales.RESPONSE_DAYS),
        days=aftersales.RESPONSE_DAYS,
    )


def _vendor_back(req_id: int):
    req = aftersales.vendor_request(current_user, g.org, req_id)
    return req, redirect(url_for("orders.vendor_order", order_id=req.order_id))


@bp.route("/vendor/after-sales/<bigint:request_id>/accept", methods=["POST"])
@org_required("orders.fulfil")
def vendor_after_sales_accept(request_id: int):
    req, back = _vendor_back(request_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        aftersales.accept(current_user, g.org, req.id, form.return_address.data)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已同意售后申请。"), "success")
    return back


@bp.route("/vendor/after-sales/<bigint:request_id>/refuse", methods=["POST"])
@org_required("orders.fulfil")
def vendor_after_sales_refuse(request_id: int):
    req, back = _vendor_back(request_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash(_("请填写拒绝原因"), "danger")
        return back
    try:
        aftersales.refuse(current_user, g.org, req.id, form.refuse_reason.data)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已拒绝售后申请，买家可申请平台介入。"), "info")
    return back


@bp.route("/vendor/after-sales/<bigint:request_id>/received", methods=["POST"])
@org_required("orders.fulfil")
def vendor_after_sales_received(request_id: int):
    req, back = _vendor_back(request_id)
    if not AcceptForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        aftersales.receive_return(current_user, g.org, req.id)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已确认收到退货，款项将退回买家。"), "success")
    return back


# ---------------------------------------------------------------- the bureau


@bp.route("/bureau/after-sales")
@org_required("orders.refund")
def bureau_disputes():
    page = paginate(aftersales.disputes(current_user, g.org), page_arg(), page_size())
    return render_template("orders/bureau/disputes.html", page=page, form=ArbitrateForm())


@bp.route("/bureau/after-sales/<bigint:request_id>/arbitrate", methods=["POST"])
@org_required("orders.refund")
def bureau_arbitrate(request_id: int):
    form = ArbitrateForm()
    if not form.validate_on_submit():
        flash(_("请选择处理结果并填写处理意见"), "danger")
        return redirect(url_for("orders.bureau_disputes"))
    try:
        aftersales.arbitrate(
            current_user, g.org, request_id, form.decision.data == "refund", form.note.data
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已处理售后纠纷。"), "success")
    return redirect(url_for("orders.bureau_disputes"))
