"""Traceability label pages: the vendor's labels (its products and receipt batches, with
their scan counts), the printable A4 sheets (vendor and bureau), and the short link a
label's QR code holds. Services in vendors/labels.py."""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.authz import org_required
from marketplace.errors import ValidationError
from marketplace.pagination import paginate
from marketplace.web import id_arg, page_arg, page_size

from . import bp, labels


@bp.app_template_global("batch_receipt")
def batch_receipt(product_id: int, token: str):
    """Template helper for the product page: the receipt date of the batch a label
    scan came from (``?batch=<label token>``), or None."""
    return labels.batch_receipt(product_id, token)


@bp.route("/t/<token>")
def label_scan(token: str):
    """A label's QR code: count the scan, then open the product's public page. No
    cookie is set and nothing about the scanner is kept."""
    scanned = labels.scan(token[:64])
    args = {"batch": scanned.batch_token} if scanned.batch_token else {}
    response = make_response(
        redirect(url_for("catalog.product_detail", product_id=scanned.product_id, **args))
    )
    # every scan must reach the server to be counted, never a cached redirect
    response.headers["Cache-Control"] = "no-store"
    return response


def _copies() -> int | None:
    """``?copies=``; a bad value is flashed and the default used."""
    raw = request.args.get("copies")
    if not raw:
        return None
    try:
        return labels.copies_arg(raw)
    except ValidationError as exc:
        flash(str(exc), "warning")
        return None


@bp.route("/vendor/labels")
@org_required("products.manage")
def vendor_labels():
    page = paginate(
        labels.vendor_product_labels(current_user, g.org), page_arg(), page_size(), scalars=False
    )
    batches = paginate(labels.vendor_batches(current_user, g.org), 1, 10, scalars=False)
    return render_template("vendors/labels.html", page=page, batches=batches)


@bp.route("/vendor/labels/batches")
@org_required("products.manage")
def vendor_label_batches():
    product_id = id_arg("product")
    page = paginate(
        labels.vendor_batches(current_user, g.org, product_id),
        page_arg(),
        page_size(),
        scalars=False,
    )
    return render_template("vendors/label_batches.html", page=page, product_id=product_id)


def _sheet_page(make_sheet, create_url: str, back_url: str):
    try:
        sheet = make_sheet(_copies())
    except ValidationError as exc:
        flash(str(exc), "warning")
        return redirect(back_url)
    return render_template(
        "vendors/label_sheet.html", sheet=sheet, create_url=create_url, back_url=back_url
    )


def _create(make_label, sheet_url: str, back_url: str):
    """Make the label (once), then show its sheet, keeping the number of copies asked."""
    try:
        make_label()
    except ValidationError as exc:
        flash(str(exc), "warning")
        return redirect(back_url)
    copies = request.form.get("copies", "")
    return redirect(sheet_url + (f"?copies={copies}" if copies.isdigit() else ""))


@bp.route("/vendor/labels/products/<int:product_id>")
@org_required("products.manage")
def vendor_product_label_sheet(product_id: int):
    return _sheet_page(
        lambda copies: labels.product_sheet(
            current_user, g.org, product_id, copies or labels.PER_SHEET
        ),
        url_for("vendors.vendor_product_label_create", product_id=product_id),
        url_for("vendors.vendor_labels"),
    )


@bp.post("/vendor/labels/products/<int:product_id>")
@org_required("products.manage")
def vendor_product_label_create(product_id: int):
    return _create(
        lambda: labels.create_product_label(current_user, g.org, product_id),
        url_for("vendors.vendor_product_label_sheet", product_id=product_id),
        url_for("vendors.vendor_labels"),
    )


@bp.route("/vendor/labels/batches/<bigint:movement_id>")
@org_required("products.manage")
def vendor_batch_label_sheet(movement_id: int):
    return _sheet_page(
        lambda copies: labels.batch_sheet(current_user, g.org, movement_id, copies),
        url_for("vendors.vendor_batch_label_create", movement_id=movement_id),
        url_for("vendors.vendor_label_batches"),
    )


@bp.post("/vendor/labels/batches/<bigint:movement_id>")
@org_required("products.manage")
def vendor_batch_label_create(movement_id: int):
    return _create(
        lambda: labels.create_batch_label(current_user, g.org, movement_id),
        url_for("vendors.vendor_batch_label_sheet", movement_id=movement_id),
        url_for("vendors.vendor_label_batches"),
    )


@bp.route("/bureau/labels/products/<int:product_id>")
@org_required("certifications.review")
def bureau_product_label_sheet(product_id: int):
    return _sheet_page(
        lambda copies: labels.bureau_product_sheet(
            current_user, g.org, product_id, copies or labels.PER_SHEET
        ),
        url_for("vendors.bureau_product_label_create", product_id=product_id),
        url_for("catalog.certification_queue"),
    )


@bp.post("/bureau/labels/products/<int:product_id>")
@org_required("certifications.review")
def bureau_product_label_create(product_id: int):
    return _create(
        lambda: labels.create_bureau_label(current_user, g.org, product_id),
        url_for("vendors.bureau_product_label_sheet", product_id=product_id),
        url_for("catalog.certification_queue"),
    )
