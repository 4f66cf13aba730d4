"""The vendor's stock pages and the public availability badge. Every product and location
id from a URL or a form is looked up within ``g.org`` by the services (404 otherwise)."""

from __future__ import annotations

from datetime import datetime

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectChoice

from marketplace import tabular
from marketplace.authz import can, org_required
from marketplace.clock import day_end_utc, day_start_utc, to_local
from marketplace.errors import ValidationError
from marketplace.importing import upload
from marketplace.pagination import paginate
from marketplace.web import date_arg, form_errors, id_arg, page_arg, page_size

from . import bp, display, services
from .forms import (
    MOVEMENT_LABELS,
    REASON_LABELS,
    STATUS_LABELS,
    AdjustForm,
    ReceiveForm,
    SettingsForm,
    StockImportForm,
)
from .imports import StockImport
from .locations import WAREHOUSE_NAME
from .models import MovementKind

EXPORT_LIMIT = 50_000  # rows per export; more asks the vendor to narrow the filter
PRODUCT_CHOICES_LIMIT = 500
SORT_LABELS = {
    "name": _l("按名称"),
    "available": _l("可售数量从少到多"),
    "-available": _l("可售数量从多到少"),
}


@bp.context_processor
def stock_labels() -> dict:
    return {
        "MOVEMENT_LABELS": MOVEMENT_LABELS,
        "REASON_LABELS": REASON_LABELS,
        "STOCK_STATUS_LABELS": STATUS_LABELS,
        "stock_status": services.stock_status,
        "local_time": _local_time,
    }


def _local_time(value: datetime | None) -> str:
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# ---------------------------------------------------------------- public availability


@bp.app_template_global("stock_availability")
def stock_availability(product) -> services.Availability:
    """Template helper: in_stock / low / sold_out (+ units when the vendor opted in)."""
    return services.availability(product)


@bp.app_template_global("stock_badge")
def stock_badge(product) -> Markup:
    """Template helper: the 有货 / 库存紧张 / 已售罄 badge of a product page, for a product
    (or its id), or for the ``stock_availability`` the page already read."""
    found = product if isinstance(product, services.Availability) else None
    return Markup(
        render_template(
            "vendors/_stock_badge.html", availability=found or services.availability(product)
        )
    )


# ---------------------------------------------------------------- helpers


def _location_choices(form) -> None:
    locations = services.vendor_locations(current_user, g.org)
    if locations:
        form.location_id.choices = [SelectChoice(loc.id, loc.name) for loc in locations]
    else:  # nothing received yet: the warehouse is created on first use
        form.location_id.choices = [SelectChoice("", WAREHOUSE_NAME)]


# ---------------------------------------------------------------- stock table


def low_stock_panel(user, org) -> Markup:
    """The vendor dashboard's panel: products at or below their low-stock threshold."""
    if not can(user, "stock.manage", org):
        return Markup("")
    return Markup(
        render_template(
            "vendors/_today_low_stock.html", alerts=services.low_stock_alerts(user, org)
        )
    )


@bp.route("/vendor/stock")
@org_required("stock.manage")
def stock_list():
    q = request.args.get("q", "").strip()[:100]
    low_only = request.args.get("low") == "1"
    sort = request.args.get("sort", "name")
    if sort not in services.STOCK_SORTS:
        sort = "name"
    stmt = services.stock_table(current_user, g.org, q=q, low_only=low_only, sort=sort)
    page = paginate(stmt, page_arg(), page_size(), scalars=False)
    return render_template(
        "vendors/stock.html",
        page=page,
        q=q,
        low_only=low_only,
        sort=sort,
        sort_labels=SORT_LABELS,
        alerts=services.low_stock_alerts(current_user, g.org),
    )


@bp.route("/vendor/stock/<int:product_id>")
@org_required("stock.manage")
def stock_product(product_id: int):
    product = services.vendor_stock_product(current_user, g.org, product_id)
    levels = services.product_levels(current_user, g.org, product.id)
    recent = paginate(
        services.vendor_movements(
            current_user, g.org, services.MovementFilters(product_id=product.id)
        ),
        1,
        10,
    )
    return render_template(
        "vendors/stock_product.html",
        product=product,
        levels=levels,
        setting=services.stock_setting(product.id),
        availability=services.availability(product),
        recent=recent,
    )


@bp.route("/vendor/stock/<int:product_id>/receive", methods=["GET", "POST"])
@org_required("stock.manage")
def stock_receive(product_id: int):
    product = services.vendor_stock_product(current_user, g.org, product_id)
    form = ReceiveForm()
    _location_choices(form)
    if form.validate_on_submit():
        try:
            movement = services.receive_stock(
                current_user,
                g.org,
                product.id,
                form.quantity.data,
                form.note.data or "",
                location_id=form.location_id.data,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(
                _(
                    "已入库 %(n)d %(unit)s，现有库存 %(total)d。",
                    n=movement.on_hand_delta,
                    unit=product.unit,
                    total=movement.on_hand_after,
                ),
                "success",
            )
            return redirect(url_for("vendors.stock_product", product_id=product.id))
    return render_template("vendors/stock_receive.html", product=product, form=form)


@bp.route("/vendor/stock/<int:product_id>/adjust", methods=["GET", "POST"])
@org_required("stock.manage")
def stock_adjust(product_id: int):
    product = services.vendor_stock_product(current_user, g.org, product_id)
    form = AdjustForm()
    _location_choices(form)
    if form.validate_on_submit():
        counted = form.mode.data == "count"
        try:
            movement = services.adjust_stock(
                current_user,
                g.org,
                product.id,
                reason=form.reason.data,
                delta=None if counted else form.quantity.data,
                new_count=form.quantity.data if counted else None,
                note=form.note.data or "",
                location_id=form.location_id.data,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            if movement is None:
                flash(_("库存数量与盘点结果一致，无需调整。"), "info")
            else:
                flash(_("已调整，现有库存 %(total)d。", total=movement.on_hand_after), "success")
            return redirect(url_for("vendors.stock_product", product_id=product.id))
    return render_template("vendors/stock_adjust.html", product=product, form=form)


@bp.route("/vendor/stock/<int:product_id>/settings", methods=["GET", "POST"])
@org_required("stock.manage")
def stock_settings(product_id: int):
    product = services.vendor_stock_product(current_user, g.org, product_id)
    setting = services.stock_setting(product.id)
    form = SettingsForm(
        data=None
        if request.method == "POST"
        else {"low_threshold": setting.low_threshold, "show_exact": setting.show_exact}
    )
    if form.validate_on_submit():
        try:
            services.update_stock_setting(
                current_user, g.org, product.id, form.low_threshold.data, form.show_exact.data
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("vendors.stock_product", product_id=product.id))
    return render_template("vendors/stock_settings.html", product=product, form=form)


# ---------------------------------------------------------------- movement history


def _movement_filters() -> tuple[services.MovementFilters, dict]:
    """Filters from the query string, and the values to show back in the form."""
    kind = request.args.get("kind", "")
    kind = kind if kind in set(MovementKind) else ""
    start, end = date_arg("from"), date_arg("to")
    shown = {
        "product": id_arg("product"),
        "kind": kind,
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    filters = services.MovementFilters(
        product_id=shown["product"],
        kind=kind or None,
        start=day_start_utc(start) if start else None,
        end=day_end_utc(end) if end else None,
    )
    return filters, shown


def _product_choices() -> list[tuple[int, str]]:
    return [
        (p.id, f"{p.name}（{p.sku}）")
        for p in services.vendor_product_choices(current_user, g.org, PRODUCT_CHOICES_LIMIT)
    ]


@bp.route("/vendor/stock/movements")
@org_required("stock.manage")
def stock_movements():
    filters, shown = _movement_filters()
    stmt = services.vendor_movements(current_user, g.org, filters)
    page = paginate(stmt, page_arg(), page_size())
    return render_template(
        "vendors/movements.html",
        page=page,
        actors=display.actor_texts(page.items, g.org),
        ref_text=display.ref_text,
        shown=shown,
        products=_product_choices(),
        export_args={k: v for k, v in request.args.items() if k != "page"},
    )


EXPORT_BATCH = 1000
EXPORT_COLUMNS = [
    "id",
    "time",
    "sku",
    "product",
    "location",
    "kind",
    "type",
    "on_hand_delta",
    "reserved_delta",
    "on_hand_after",
    "reserved_after",
    "reason",
    "note",
    "ref",
    "actor",
]


def _export_rows(stmt):
    """The rows, streamed: who acted is looked up a batch at a time."""
    batch: list = []
    for row in services.movement_export_rows(stmt):
        batch.append(row)
        if len(batch) == EXPORT_BATCH:
            yield from _export_batch(batch)
            batch = []
    yield from _export_batch(batch)


def _export_batch(rows: list):
    actors = display.actor_texts((row[0] for row in rows), g.org)
    for movement, sku, name, location in rows:
        ref = ":".join(p for p in (movement.ref_type, movement.ref_id) if p)
        yield [
            movement.id,
            _local_time(movement.created_at),
            sku,
            name,
            location,
            movement.kind,
            str(MOVEMENT_LABELS.get(movement.kind, movement.kind)),
            movement.on_hand_delta,
            movement.reserved_delta,
            movement.on_hand_after,
            movement.reserved_after,
            str(REASON_LABELS[movement.reason]) if movement.reason else "",
            movement.note,
            ref,
            actors[movement.id],
        ]


@bp.route("/vendor/stock/movements/export.<any(csv, xlsx):fmt>")
@org_required("stock.manage")
def stock_movements_export(fmt: str):
    filters, _shown = _movement_filters()
    stmt = services.vendor_movements(current_user, g.org, filters)
    if services.count_rows(stmt) > EXPORT_LIMIT:
        flash(_("记录超过 %(n)d 条，请缩小日期范围后再导出。", n=EXPORT_LIMIT), "warning")
        args = {k: v for k, v in request.args.items() if k != "page"}
        return redirect(url_for("vendors.stock_movements", **args))
    start, end = date_arg("from"), date_arg("to")
    report = _("库存变动记录")
    name = tabular.file_name(report, fmt, start, end)
    if fmt == "csv":
        response = tabular.attachment(
            tabular.to_csv(EXPORT_COLUMNS, _export_rows(stmt)), tabular.CSV_MIMETYPE, name
        )
    else:
        heading = f"{g.org.name} {report}（{tabular.period_label(start, end)}）"
        body = tabular.to_xlsx(report, EXPORT_COLUMNS, _export_rows(stmt), heading=heading)
        response = tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- bulk update by CSV


@bp.route("/vendor/stock/import", methods=["GET", "POST"])
@org_required("stock.manage")
def stock_import():
    form = StockImportForm()
    summary = errors = None
    if form.validate_on_submit():
        summary, errors = upload(
            StockImport(current_user, org=g.org), form.file.data.read(), dry_run=form.dry_run.data
        )
        if summary is not None and not summary.dry_run:
            return redirect(url_for("vendors.stock_list"))
    return render_template("vendors/stock_import.html", form=form, summary=summary, errors=errors)


@bp.route("/vendor/stock/import/template.csv")
@org_required("stock.manage")
def stock_import_template():
    """The vendor's SKUs with their current warehouse on-hand, ready to edit."""
    stmt = services.stock_table(current_user, g.org).limit(EXPORT_LIMIT)
    rows = ([row.Product.sku, row.on_hand, ""] for row in services.stock_rows(stmt))
    return Response(
        tabular.to_csv(["sku", "quantity", "note"], rows),
        mimetype=tabular.CSV_MIMETYPE,
        headers={
            "Content-Disposition": 'attachment; filename="stock.csv"',
            "Cache-Control": "no-store",
        },
    )
