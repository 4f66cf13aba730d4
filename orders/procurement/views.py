"""Procurement pages under /procurement: the agency's buyers and approvers, the vendors'
incoming orders, the printable documents, and the bureau's quota ranking. Thin: parse the
form, call one service, flash and redirect; ``NotFound``/``Forbidden`` are left to the
app's error pages."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from marketplace import tabular
from marketplace.authz import active_org, can, org_required
from marketplace.clock import local_today
from marketplace.errors import DomainError, ValidationError
from marketplace.extensions import db
from marketplace.importing import ImportFailed
from marketplace.models import District
from marketplace.money import MoneyError, capitals, parse_yuan
from marketplace.web import to_id
from orders import bp

from . import basket, quotas, services
from .models import ProcurementStatus

STATUS_LABELS = {
    "draft": _l("草稿"),
    "submitted": _l("待审批"),
    "approved": _l("已审批"),
    "confirmed": _l("供应商已确认"),
    "shipped": _l("已发货"),
    "accepted": _l("已验收"),
    "invoiced": _l("已开票"),
    "paid": _l("已付款"),
    "declined": _l("供应商拒单"),
    "cancelled": _l("已取消"),
}


def _labels() -> dict:
    return {key: str(value) for key, value in STATUS_LABELS.items()}


def _year() -> int:
    year = request.args.get("year", type=int)
    return year if year and quotas.MIN_YEAR <= year <= quotas.MAX_YEAR else local_today().year


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat((request.form.get(name) or "").strip())
    except ValueError:
        return None


def _quantities(prefix: str) -> dict[int, int]:
    found = {}
    for key, value in request.form.items():
        if key.startswith(prefix):
            line_id = to_id(key[len(prefix) :])
            try:
                found[line_id] = int(value)
            except ValueError:
                continue
    return found


@bp.route("/procurement")
@login_required
def procurement_home():
    org = active_org()
    if org is not None and can(current_user, "procurement.oversee", org):
        return redirect(url_for("orders.procurement_bureau_quotas"))
    if services.is_agency(org) and org.is_verified:
        today = local_today()
        report = quotas.quota_report(today.year, today, agency_id=org.id)
        orders = db.session.scalars(services.orders_of(org).limit(200)).all()
        return render_template(
            "orders/procurement/agency.html",
            org=org,
            row=report.rows[0] if report.rows else None,
            year=today.year,
            orders=orders,
            labels=_labels(),
        )
    if org is not None and can(current_user, "orders.fulfil", org):
        status = request.args.get("status", "")
        stmt = services.orders_of(org)
        if status in set(ProcurementStatus):
            stmt = stmt.where(services.ProcurementOrder.status == status)
        return render_template(
            "orders/procurement/vendor.html",
            orders=db.session.scalars(stmt.limit(200)).all(),
            labels=_labels(),
            today=local_today(),
            status=status,
        )
    abort(403)


@bp.route("/procurement/catalogue")
@org_required("procurement.order")
def procurement_catalogue():
    q = request.args.get("q", "")
    return render_template(
        "orders/procurement/catalogue.html",
        products=basket.catalogue(q),
        q=q,
        pricing=basket.pricing,
    )


@bp.route("/procurement/basket", methods=["GET", "POST"])
@org_required("procurement.order")
def procurement_basket():
    if request.method == "POST":
        product_id = to_id(request.form.get("product_id")) or 0
        try:
            quantity = int(request.form.get("quantity", ""))
        except ValueError:
            quantity = -1
        try:
            if quantity < 0:
                raise ValidationError(_("数量必须是整数"))
            basket.set_quantity(current_user, g.org, product_id, quantity)
            flash(_("采购清单已更新。"), "success")
        except DomainError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("orders.procurement_basket"))
    return _basket_page()


def _basket_page(errors=(), code: int = 200):
    lines = basket.basket(current_user, g.org)
    return render_template(
        "orders/procurement/basket.html",
        lines=lines,
        total=sum(line.amount for line in lines),
        days=services.DELIVERY_CHOICES,
        org=g.org,
        errors=errors,
    ), code


@bp.route("/procurement/basket/upload", methods=["POST"])
@org_required("procurement.order")
def procurement_basket_upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择文件"), "danger")
        return redirect(url_for("orders.procurement_basket"))
    try:
        count = basket.upload(current_user, g.org, upload.filename, upload.read())
    except ImportFailed as exc:
        flash(exc.message, "danger")
        return _basket_page(exc.errors, 400)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已加入 %(n)d 行。", n=count), "success")
    return redirect(url_for("orders.procurement_basket"))


@bp.route("/procurement/basket/submit", methods=["POST"])
@org_required("procurement.order")
def procurement_submit():
    form = request.form
    delivery = basket.ProcurementDelivery(
        form.get("address", ""),
        form.get("contact_name", ""),
        form.get("contact_phone", ""),
        form.get("delivery_days", type=int) or 0,
        form.get("note", ""),
    )
    try:
        orders = basket.submit_basket(current_user, g.org, delivery)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("orders.procurement_basket"))
    flash(_("已提交 %(n)d 张采购订单，等待审批。", n=len(orders)), "success")
    return redirect(url_for("orders.procurement_home"))


def _order(order_id: int):
    return services.get_order(current_user, active_org(), order_id)


@bp.route("/procurement/orders/<bigint:order_id>")
@login_required
def procurement_order(order_id: int):
    org = active_org()
    order = _order(order_id)
    return render_template(
        "orders/procurement/order.html",
        order=order,
        org=org,
        actions=services.actions_for(current_user, org, order),
        labels=_labels(),
        today=local_today(),
        capitals=capitals,
    )


@bp.route("/procurement/orders/<bigint:order_id>/<action>", methods=["POST"])
@login_required
def procurement_step(order_id: int, action: str):
    if action not in services.TRANSITIONS:
        abort(404)
    org = active_org()
    form = request.form
    comment = form.get("comment", "")
    try:
        if action in ("submit", "approve", "confirm", "reject", "decline", "cancel"):
            getattr(services, action)(current_user, org, order_id, comment)
        elif action == "ship":
            services.ship(
                current_user, org, order_id, _quantities("shipped-"), form.get("delivery_note", "")
            )
        elif action == "accept":
            services.accept(current_user, org, order_id, _quantities("received-"), comment)
        elif action == "invoice":
            try:
                amount = parse_yuan(form.get("amount", ""))
            except MoneyError as exc:
                raise ValidationError(str(exc)) from None
            issued = _date("issued_on")
            if issued is None:
                raise ValidationError(_("请填写开票日期"))
            services.invoice(
                current_user,
                org,
                order_id,
                services.Invoice(
                    form.get("number", ""),
                    issued,
                    amount,
                    form.get("title", ""),
                    form.get("tax_id", ""),
                ),
            )
        elif action == "pay":
            paid_on = _date("paid_on")
            if paid_on is None:
                raise ValidationError(_("请填写付款日期"))
            services.pay(
                current_user,
                org,
                order_id,
                services.TransferPayment(form.get("reference", ""), paid_on),
            )
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("操作成功。"), "success")
    return redirect(url_for("orders.procurement_order", order_id=order_id))


@bp.route("/procurement/orders/<bigint:order_id>/print")
@login_required
def procurement_print(order_id: int):
    order = _order(order_id)
    return render_template(
        "orders/procurement/print_order.html", order=order, capitals=capitals, labels=_labels()
    )


@bp.route("/procurement/orders/<bigint:order_id>/acceptance/print")
@login_required
def procurement_acceptance_print(order_id: int):
    order = _order(order_id)
    if order.accepted_at is None:
        abort(404)
    return render_template(
        "orders/procurement/print_acceptance.html", order=order, capitals=capitals
    )


@bp.route("/procurement/quota", methods=["GET", "POST"])
@org_required("procurement.quota")
def procurement_quota():
    year = request.values.get("year", type=int) or local_today().year
    if request.method == "POST":
        try:
            data = _quota_input(year)
            quotas.declare_quota(current_user, g.org, data)
        except DomainError as exc:
            flash(exc.message, "danger")
        else:
            flash(_("年度预留份额已保存。"), "success")
            return redirect(url_for("orders.procurement_home"))
    return render_template(
        "orders/procurement/quota.html",
        year=year,
        quota=quotas.quota_of(g.org.id, year),
        minimum=quotas.percent_text(quotas.minimum_ratio(year)),
        percent_text=quotas.percent_text,
    )


def _quota_input(year: int) -> quotas.QuotaInput:
    no_canteen = request.form.get("no_canteen") == "1"
    budget = 0
    if not no_canteen:
        try:
            budget = parse_yuan(request.form.get("budget", ""))
        except MoneyError as exc:
            raise ValidationError(str(exc)) from None
    return quotas.QuotaInput(
        year,
        budget,
        quotas.parse_percent(request.form.get("ratio", "10")),
        no_canteen,
        request.form.get("no_canteen_reason", ""),
    )


EXPORT_COLUMNS = [
    "name",
    "district",
    "no_canteen",
    "budget",
    "ratio",
    "reserved",
    "ordered",
    "accepted",
    "paid",
    "percent_paid",
    "behind_schedule",
]


@bp.route("/procurement/bureau/quotas")
@bp.route("/procurement/bureau/quotas.<any(csv, xlsx):fmt>")
@org_required("procurement.oversee")
def procurement_bureau_quotas(fmt: str | None = None):
    year = _year()
    district_id = to_id(request.args.get("district"))
    report = quotas.quota_report(year, local_today(), district_id=district_id)
    if fmt:
        rows = [[*row.to_json().values(), "yes" if row.behind else "no"] for row in report.rows]
        if fmt == "csv":
            body, mime = tabular.to_csv(EXPORT_COLUMNS, rows), "text/csv; charset=utf-8"
        else:
            body = tabular.to_xlsx(f"quotas {year}", EXPORT_COLUMNS, rows)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            body,
            mimetype=mime,
            headers={"Content-Disposition": f"attachment; filename=quotas-{year}.{fmt}"},
        )
    return render_template(
        "orders/procurement/bureau_quotas.html",
        report=report,
        year=year,
        district_id=district_id,
        districts=db.session.scalars(db.select(District).order_by(District.name)).all(),
        minimum=quotas.percent_text(quotas.minimum_ratio(year)),
        percent_text=quotas.percent_text,
    )


@bp.route("/procurement/bureau/quotas/<int:agency_id>", methods=["POST"])
@org_required("procurement.oversee")
def procurement_bureau_correct(agency_id: int):
    year = request.form.get("year", type=int) or local_today().year
    try:
        quotas.correct_quota(
            current_user, g.org, agency_id, _quota_input(year), request.form.get("reason", "")
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已更正。"), "success")
    return redirect(url_for("orders.procurement_bureau_quotas", year=year))


@bp.route("/procurement/bureau/minimum", methods=["POST"])
@org_required("procurement.oversee")
def procurement_bureau_minimum():
    year = request.form.get("year", type=int) or local_today().year
    try:
        quotas.set_minimum_ratio(
            current_user, g.org, year, quotas.parse_percent(request.form.get("ratio", ""))
        )
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("最低预留比例已保存。"), "success")
    return redirect(url_for("orders.procurement_bureau_quotas", year=year))
