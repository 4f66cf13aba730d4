"""The vendor's fulfilment pages (its own parts of paid online orders: ship, or cancel
before shipping) and the bureau's after-sales refunds and pick-up point list.

Views are thin: each parses a form, calls one service of the shop (``fulfilment``,
``queries``, ``pickup``) and turns its domain errors into a flashed message or the form
again. An order id from the URL is
always looked up within the acting vendor's own parts (another vendor's is 404).
"""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from marketplace import tabular
from marketplace.authz import can, org_required
from marketplace.clock import to_local, utcnow
from marketplace.errors import DomainError, ValidationError
from marketplace.extensions import db
from marketplace.importing import upload
from marketplace.pagination import paginate
from marketplace.web import flash_form_errors, form_errors, page_arg, page_size, to_id
from orders import bp
from orders.ledger.models import Order
from orders.shop import aftersales, bulk, fulfilment, invoices, pickup, queries
from orders.shop.forms import AcceptForm, RefuseForm
from orders.shop.fulfilment_forms import (
    CARRIERS,
    PICKUP_KINDS,
    SHIPMENT_FILTERS,
    CancelPartForm,
    PickupPointForm,
    RefundForm,
    ShipForm,
    TrackingUploadForm,
    line_quantities,
)
from orders.shop.invoice_forms import InvoiceIssueForm, InvoiceRejectForm
from orders.shop.models import ShipmentStatus

FULFIL = "orders.fulfil"
EXPORT_LIMIT = 20_000  # order parts in one export
REFUND = "orders.refund"
PICKUP = "pickup_points.manage"


def _labels() -> dict:
    return {"SHIPMENT_FILTERS": SHIPMENT_FILTERS, "PICKUP_KINDS": PICKUP_KINDS}


# ---------------------------------------------------------------- vendor fulfilment


def shipments_panel(user, org) -> Markup:
    """The vendor dashboard's panel: parts awaiting shipment, and how many are overdue."""
    if not can(user, FULFIL, org):
        return Markup("")
    pending, overdue = queries.shipments_due(
        user, org, utcnow(), current_app.config["ORDER_SHIP_WITHIN_HOURS"]
    )
    return Markup(
        render_template(
            "orders/vendor/_today_shipments.html",
            pending=pending,
            overdue=overdue,
            hours=current_app.config["ORDER_SHIP_WITHIN_HOURS"],
        )
    )


@bp.route("/vendor/orders")
@org_required(FULFIL)
def vendor_orders():
    status = request.args.get("status", "")
    if status not in SHIPMENT_FILTERS:
        status = ""
    page = paginate(
        queries.vendor_parts(current_user, g.org, status or None), page_arg(), page_size()
    )
    return render_template(
        "orders/vendor/orders.html",
        page=page,
        status=status,
        lines=queries.vendor_lines(page.items),
        invoices_open=invoices.open_count(current_user, g.org),
        **_labels(),
    )


def _vendor_part_page(order_id: int, ship_form=None, cancel_form=None, code: int = 200):
    shipment = fulfilment.vendor_shipment(current_user, g.org, order_id)
    return render_template(
        "orders/vendor/order.html",
        shipment=shipment,
        order=shipment.order,
        lines=queries.vendor_lines([shipment])[shipment.id],
        ship_form=ship_form or ShipForm(),
        cancel_form=cancel_form or CancelPartForm(),
        after_sales=aftersales.vendor_requests(current_user, g.org, shipment),
        accept_form=AcceptForm(),
        refuse_form=RefuseForm(),
        invoice=invoices.vendor_part_invoice(current_user, g.org, shipment),
        issue_form=InvoiceIssueForm(),
        reject_form=InvoiceRejectForm(),
        carriers=CARRIERS,
        **_labels(),
    ), code


@bp.route("/vendor/orders/<bigint:order_id>")
@org_required(FULFIL)
def vendor_order(order_id: int):
    return _vendor_part_page(order_id)


@bp.route("/vendor/orders/<bigint:order_id>/ship", methods=["POST"])
@org_required(FULFIL)
def vendor_ship(order_id: int):
    form = ShipForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _vendor_part_page(order_id, ship_form=form, code=400)
    try:
        fulfilment.ship_part(
            current_user, g.org, order_id, form.carrier.data, form.tracking_no.data
        )
    except ValidationError as exc:
        form_errors(form, exc)
        return _vendor_part_page(order_id, ship_form=form, code=400)
    except DomainError as exc:  # IllegalTransition (already shipped or cancelled)
        flash(exc.message, "warning")
    else:
        flash(_("已发货，买家会收到发货通知。"), "success")
    return redirect(url_for("orders.vendor_order", order_id=order_id))


@bp.route("/vendor/orders/<bigint:order_id>/cancel", methods=["POST"])
@org_required(FULFIL)
def vendor_cancel(order_id: int):
    form = CancelPartForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _vendor_part_page(order_id, cancel_form=form, code=400)
    try:
        fulfilment.cancel_part(current_user, g.org, order_id, form.reason.data)
    except ValidationError as exc:
        form_errors(form, exc)
        return _vendor_part_page(order_id, cancel_form=form, code=400)
    except DomainError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已取消本店的商品，款项将退回买家，库存已恢复。"), "success")
    return redirect(url_for("orders.vendor_order", order_id=order_id))


# ---------------------------------------------------------------- bureau after-sales


@bp.route("/bureau/orders")
@org_required(REFUND)
def bureau_orders():
    q = request.args.get("q", "").strip()[:40]
    page = paginate(queries.bureau_orders(current_user, g.org, q), page_arg(), page_size())
    return render_template("orders/bureau/orders.html", page=page, q=q, **_labels())


def _bureau_order_page(order_id: int, form: RefundForm | None = None, code: int = 200):
    order = queries.bureau_order(current_user, g.org, order_id)
    return render_template(
        "orders/bureau/order.html",
        order=order,
        refunds=queries.order_refunds(order),
        form=form or _fresh_refund_form(),
        asked=_asked_quantities(order) if form is not None else {},
        **_labels(),
    ), code


def _fresh_refund_form() -> RefundForm:
    form = RefundForm()
    form.token.data = secrets.token_urlsafe(24)  # one refund per rendered form
    return form


def _asked_quantities(order: Order) -> dict[int, int]:
    return line_quantities(request.form, order.lines)


@bp.route("/bureau/orders/<bigint:order_id>")
@org_required(REFUND)
def bureau_order(order_id: int):
    return _bureau_order_page(order_id)


@bp.route("/bureau/orders/<bigint:order_id>/refund", methods=["POST"])
@org_required(REFUND)
def bureau_refund(order_id: int):
    form = RefundForm()
    order = queries.bureau_order(current_user, g.org, order_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _bureau_order_page(order.id, form, 400)
    try:
        fulfilment.after_sales_refund(
            current_user,
            g.org,
            order.id,
            _asked_quantities(order),
            form.reason.data,
            token=form.token.data,
        )
    except ValidationError as exc:
        form_errors(form, exc)
        return _bureau_order_page(order.id, form, 400)
    except DomainError as exc:  # not paid, or the gateway refused
        flash(exc.message, "danger")
        return _bureau_order_page(order.id, form, 400)
    flash(_("售后退款已完成，款项将按原支付方式退回买家。"), "success")
    return redirect(url_for("orders.bureau_order", order_id=order.id))


# ---------------------------------------------------------------- pick-up points


@bp.route("/bureau/pickup-points")
@org_required(PICKUP)
def pickup_points():
    q = request.args.get("q", "").strip()[:50]
    page = paginate(pickup.pickup_points(current_user, g.org, q=q), page_arg(), page_size())
    return render_template(
        "orders/bureau/pickup_points.html", page=page, q=q, toggle_form=FlaskForm(), **_labels()
    )


def _point_data(form: PickupPointForm) -> dict:
    return {name: form[name].data for name in pickup.PICKUP_POINT_FIELDS}


@bp.route("/bureau/pickup-points/new", methods=["GET", "POST"])
@org_required(PICKUP)
def pickup_point_new():
    form = PickupPointForm()
    if form.validate_on_submit():
        try:
            point = pickup.create_pickup_point(current_user, g.org, _point_data(form))
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("已添加自提点：%(name)s", name=point.name), "success")
            return redirect(url_for("orders.pickup_points"))
    return render_template("orders/bureau/pickup_point_form.html", form=form, point=None)


@bp.route("/bureau/pickup-points/<int:point_id>/edit", methods=["GET", "POST"])
@org_required(PICKUP)
def pickup_point_edit(point_id: int):
    point = pickup.pickup_point(current_user, g.org, point_id)
    form = PickupPointForm(obj=point)
    if form.validate_on_submit():
        try:
            pickup.update_pickup_point(current_user, g.org, point.id, _point_data(form))
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("自提点已更新。"), "success")
            return redirect(url_for("orders.pickup_points"))
    return render_template("orders/bureau/pickup_point_form.html", form=form, point=point)


@bp.route(
    "/bureau/pickup-points/<int:point_id>/<any(activate, deactivate):action>", methods=["POST"]
)
@org_required(PICKUP)
def pickup_point_toggle(point_id: int, action: str):
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        point = pickup.set_pickup_point_active(current_user, g.org, point_id, action == "activate")
    except ValidationError as exc:
        flash("；".join(exc.errors.values()) or exc.message, "danger")
    else:
        if point.active:
            flash(_("自提点已恢复使用：%(name)s", name=point.name), "success")
        else:
            flash(_("自提点已停用，结算时不再提供：%(name)s", name=point.name), "info")
    return redirect(url_for("orders.pickup_points"))


@bp.app_template_global("shipment_status_class")
def shipment_status_class(status: str) -> str:
    """Bootstrap colour of a shipment status badge."""
    return {
        ShipmentStatus.PENDING: "warning text-dark",
        ShipmentStatus.SHIPPED: "info text-dark",
        ShipmentStatus.AT_STATION: "primary",
        ShipmentStatus.RECEIVED: "success",
        ShipmentStatus.CANCELLED: "secondary",
    }.get(status, "secondary")


# ---------------------------------------------------------------- vendor bulk tools


@bp.route("/vendor/orders/slips")
@org_required(FULFIL)
def vendor_slips():
    """Packing slips (发货单) for the chosen orders, or for every part awaiting shipment."""
    order_ids = [i for i in (to_id(v) for v in request.args.getlist("order")) if i]
    parts = bulk.slips(current_user, g.org, order_ids)
    return render_template(
        "orders/vendor/slips.html", parts=parts, lines=queries.vendor_lines(parts), org=g.org
    )


@bp.route("/vendor/orders/tracking", methods=["GET", "POST"])
@org_required(FULFIL)
def vendor_tracking():
    form = TrackingUploadForm()
    summary = errors = None
    if form.validate_on_submit():
        summary, errors = upload(
            bulk.TrackingImport(current_user, org=g.org),
            form.file.data.read(),
            dry_run=form.dry_run.data,
        )
    return render_template("orders/vendor/tracking.html", form=form, summary=summary, errors=errors)


@bp.route("/vendor/orders/tracking/template.xlsx")
@org_required(FULFIL)
def vendor_tracking_template():
    """The vendor's orders awaiting shipment, ready for carrier and tracking number."""
    parts = bulk.slips(current_user, g.org, [])
    rows = ([part.order.number, "", ""] for part in parts)
    body = tabular.to_xlsx(_("运单号"), ["order_number", "carrier", "tracking_no"], rows)
    return tabular.attachment(body, tabular.XLSX_MIMETYPE, _("待发货订单运单号.xlsx"))


@bp.route("/vendor/orders/export.<any(csv, xlsx):fmt>")
@org_required(FULFIL)
def vendor_orders_export(fmt: str):
    status = request.args.get("status", "")
    stmt = queries.vendor_parts(current_user, g.org, status if status in SHIPMENT_FILTERS else None)
    parts = list(db.session.scalars(stmt.limit(EXPORT_LIMIT)))
    lines = queries.vendor_lines(parts)
    header = [
        _("订单号"), _("付款时间"), _("商品"), _("数量"), _("单位"), _("金额（元）"),
        _("收货人"), _("电话"), _("收货地址 / 自提点"), _("状态"), _("快递公司"), _("运单号"),
    ]  # fmt: skip
    rows = []
    for part in parts:
        order = part.order
        where = order.pickup_point.name if order.pickup_point else (order.address or "")
        for line in lines[part.id]:
            rows.append(
                [
                    order.number,
                    to_local(order.paid_at).strftime("%Y-%m-%d %H:%M") if order.paid_at else "",
                    line.product_name,
                    line.quantity - line.refunded_quantity,
                    line.unit,
                    tabular.yuan(line.amount - line.refunded_amount),
                    order.recipient or "",
                    order.phone or "",
                    where,
                    str(SHIPMENT_FILTERS.get(part.status, part.status)),
                    part.carrier or "",
                    part.tracking_no or "",
                ]
            )
    report = _("本店订单")
    name = tabular.file_name(report, fmt)
    if fmt == "xlsx":
        body = tabular.to_xlsx(report, header, rows, heading=f"{g.org.name} {report}")
        response = tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    else:
        response = tabular.attachment(tabular.to_csv(header, rows), tabular.CSV_MIMETYPE, name)
    response.headers["Cache-Control"] = "no-store"
    return response
