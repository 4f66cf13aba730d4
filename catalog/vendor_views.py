"""The seller's side of the catalog: its products, photos, certification applications
and the expiry reminders. Every object id is looked up within ``g.org``."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from marketplace import registries, tabular
from marketplace.authz import active_org, org_required
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import limiter
from marketplace.importing import template_xlsx, upload
from marketplace.money import format_fen
from marketplace.pagination import paginate
from marketplace.publication import personal_data
from marketplace.web import form_errors, page_arg, page_size

from . import (
    bp,
    certification,
    dashboard,
    files,
    held_reports,
    households,
    images,
    products,
    sellability,
)
from .forms import (
    BENEFIT_MODE_LABELS,
    CERT_STATUS_LABELS,
    COMMON_UNITS,
    IMAGE_TYPES,
    PRODUCT_STATUS_LABELS,
    CertificationForm,
    ImageForm,
    ProductForm,
    ProductListImportForm,
)
from .imports import VendorProductsImport
from .models import ProductStatus

IMAGE_MAX_AGE = 365 * 24 * 3600  # stored names are never reused, so cache for a year


@bp.app_context_processor
def vendor_labels() -> dict:
    return {
        "PRODUCT_STATUS_LABELS": PRODUCT_STATUS_LABELS,
        "BENEFIT_MODE_LABELS": BENEFIT_MODE_LABELS,
        "CERT_STATUS_LABELS": CERT_STATUS_LABELS,
    }


# ---------------------------------------------------------------- dashboard and list


@bp.route("/vendor")
@org_required("products.manage")
def vendor_dashboard():
    today = sellability.today()
    reminders = certification.expiring(today, 90, vendor_id=g.org.id)
    bands = {window: [e for e in reminders if e.band == window] for window in (7, 30, 90)}
    return render_template(
        "catalog/vendor/dashboard.html",
        org=g.org,
        today=today,
        counts=dashboard.product_counts(current_user, g.org),
        certified=dashboard.certified_count(current_user, g.org, today),
        pending=dashboard.pending_count(current_user, g.org),
        bands=bands,
        panels=[panel(current_user, g.org) for panel in registries.vendor_today.get()],
    )


@bp.route("/vendor/products/import", methods=["GET", "POST"])
@org_required("products.manage")
def vendor_products_import():
    """The vendor's own product list, uploaded (CSV or XLSX): its own SKUs only."""
    form = ProductListImportForm()
    summary = errors = None
    if form.validate_on_submit():
        summary, errors = upload(
            VendorProductsImport(current_user, org=g.org),
            form.file.data.read(),
            dry_run=form.dry_run.data,
        )
    return render_template(
        "catalog/vendor/products_import.html", form=form, summary=summary, errors=errors
    )


@bp.route("/vendor/products/import/template.xlsx")
@org_required("products.manage")
def vendor_products_template():
    return tabular.attachment(
        template_xlsx(VendorProductsImport),
        tabular.XLSX_MIMETYPE,
        _("导入模板_%(name)s.xlsx", name=_("产品")),
    )


@bp.route("/vendor/products")
@org_required("products.manage")
def vendor_products():
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "")
    if status not in set(ProductStatus):
        status = ""
    stmt = products.vendor_products(current_user, g.org, q=q, status=status)
    page = paginate(stmt, page_arg(), page_size())
    today = sellability.today()
    return render_template(
        "catalog/vendor/products.html",
        page=page,
        q=q,
        status=status,
        states=dashboard.certification_states((p.id for p in page.items), today),
        total=sum(dashboard.product_counts(current_user, g.org).values()),
    )


# ---------------------------------------------------------------- create and edit


def _product_form(product=None) -> ProductForm:
    """The form, filled from ``product`` on GET only (a POST reads just the request)."""
    data = None
    if product is not None and request.method == "GET":
        data = {
            "name": product.name,
            "category_id": product.category_id,
            "description": product.description,
            "specification": product.specification,
            "unit": product.unit,
            "price": format_fen(product.price),
            "origin_village_id": product.origin_village_id,
            "shelf_life": product.shelf_life,
            "is_fresh": product.is_fresh,
            "status": product.status,
            "min_order_qty": product.min_order_qty,
            "tiers": [
                {"min_qty": t.min_qty, "unit_price": format_fen(t.unit_price)}
                for t in product.tiers
            ],
        }
    form = ProductForm(data=data)
    form.category_id.choices = [SelectChoice(c.id, c.name) for c in products.categories()]
    form.set_villages(products.village_options())
    return form


def _product_data(form: ProductForm) -> products.ProductData:
    return products.ProductData(
        name=form.name.data.strip(),
        category_id=form.category_id.data,
        unit=form.unit.data.strip(),
        price=form.price_fen,
        description=(form.description.data or "").strip(),
        specification=(form.specification.data or "").strip(),
        origin_village_id=form.origin_village_id.data,
        shelf_life=(form.shelf_life.data or "").strip(),
        is_fresh=bool(form.is_fresh.data),
        min_order_qty=form.min_order_qty.data,
        status=form.status.data,
        tiers=form.tier_values(),
    )


def _render_product_form(form, product=None):
    certified = product is not None and (
        dashboard.certification_states([product.id], sellability.today())[product.id].state
        == "certified"
    )
    return render_template(
        "catalog/vendor/product_form.html",
        form=form,
        product=product,
        certified=certified,
        next_steps=request.args.get("created") == "1",
        units=COMMON_UNITS,
        image_form=ImageForm(formdata=None),
        image_types=IMAGE_TYPES,
        action_form=FlaskForm(formdata=None),
    )


@bp.route("/vendor/products/new", methods=["GET", "POST"])
@org_required("products.manage")
def vendor_product_new():
    form = _product_form()
    if form.validate_on_submit():
        try:
            product = products.save_product(current_user, g.org, _product_data(form))
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("已创建产品：%(name)s", name=product.name), "success")
            # the next steps: photos, stock, certification
            return redirect(
                url_for("catalog.vendor_product_edit", product_id=product.id, created=1)
            )
    return _render_product_form(form)


@bp.route("/vendor/products/<int:product_id>/edit", methods=["GET", "POST"])
@org_required("products.manage")
def vendor_product_edit(product_id: int):
    product = products.get_vendor_product(current_user, g.org, product_id)
    form = _product_form(product)
    if form.validate_on_submit():
        try:
            products.save_product(current_user, g.org, _product_data(form), product_id=product.id)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("catalog.vendor_product_edit", product_id=product.id))
    return _render_product_form(form, product)


# ---------------------------------------------------------------- images


@bp.route("/vendor/products/<int:product_id>/images", methods=["POST"])
@org_required("products.manage")
def vendor_image_upload(product_id: int):
    product = products.get_vendor_product(current_user, g.org, product_id)
    form = ImageForm()
    if form.validate_on_submit():
        try:
            images.add_product_image(current_user, g.org, product.id, form.file.data.stream)
        except ValidationError as exc:
            flash(exc.errors.get("file", exc.message), "danger")
        else:
            flash(_("图片已上传。"), "success")
    else:
        for message in form.file.errors:
            flash(message, "danger")
    return redirect(url_for("catalog.vendor_product_edit", product_id=product.id) + "#images")


@bp.route("/vendor/products/<int:product_id>/images/<int:image_id>/delete", methods=["POST"])
@org_required("products.manage")
def vendor_image_delete(product_id: int, image_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    images.delete_product_image(current_user, g.org, product_id, image_id)
    flash(_("图片已删除。"), "info")
    return redirect(url_for("catalog.vendor_product_edit", product_id=product_id) + "#images")


@bp.route("/media/images/<name>")
def media_image(name: str):
    """Product photos are public; only generated names are ever served."""
    located = files.path_for("images", name)
    if located is None:
        abort(404)
    path, mimetype = located
    response = send_file(path, mimetype=mimetype, max_age=IMAGE_MAX_AGE, conditional=True)
    response.headers["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/vendor/reports/<name>")
@login_required
def vendor_report(name: str):
    """A test report: for the vendor whose application carries it and for bureau
    reviewers; 404 for everyone else, so its existence is not revealed."""
    path, mimetype = certification.report_path(current_user, active_org(), name)
    response = send_file(path, mimetype=mimetype, max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- certification


def _certify_limit() -> str:
    return current_app.config["CERTIFY_RATE_LIMIT"]


def _certify_org_limit() -> str:
    return current_app.config["CERTIFY_ORG_RATE_LIMIT"]


def _user_key() -> str:
    user = current_user.get_id() if current_user.is_authenticated else None
    return f"certify-user:{user or request.remote_addr}"


def _org_key() -> str:
    org = active_org()
    return f"certify:{org.id if org else request.remote_addr}"


def _picking() -> bool:
    """A press of the household picker's search or add button: no application is made,
    so it counts against no limit."""
    return request.method == "POST" and request.form.get("pick") in PICK_ACTIONS


PICK_ACTIONS = ("search", "add")


@bp.route("/vendor/products/<int:product_id>/certify", methods=["GET", "POST"])
@personal_data
@limiter.limit(_certify_limit, methods=["POST"], key_func=_user_key, exempt_when=_picking)
@limiter.limit(_certify_org_limit, methods=["POST"], key_func=_org_key, exempt_when=_picking)
@org_required("products.manage")
def vendor_certify(product_id: int):
    """The application form and the product's certification history. POSTs are rate
    limited per user and per organization, so household codes cannot be probed in bulk
    (each names at most ``MAX_APPLICATION_HOUSEHOLDS`` of its own town). The households
    are picked from the vendor's own (``households.search_households``): with the script,
    from the search endpoint; without it, the form's own search and add buttons re-show
    the form. A PDF sent with a try that comes back is held (``held_reports``)."""
    product = products.get_vendor_product(current_user, g.org, product_id)
    form = CertificationForm()
    picking = _picking()
    valid = not picking and form.validate_on_submit()
    held = None
    if form.is_submitted():
        try:
            held = held_reports.hold_report(
                current_user, g.org, form.test_report.data, form.report_token.data
            )
        except ValidationError as exc:
            form.test_report.errors = [*form.test_report.errors, exc.message]
            valid = False
        form.report_token.data = held.token if held is not None else ""
        if held is None and not picking and not form.test_report.errors:
            form.test_report.errors = [*form.test_report.errors, _("请上传检测报告（PDF）")]
            valid = False
    if picking and request.form.get("pick") == "add":
        form.households.data = households.add_picked(
            g.org, form.households.data, request.form.getlist("pick_code")
        )
    if valid:
        application = certification.CertificationApplication(
            benefit_mode=form.benefit_mode.data,
            households=form.household_lines,
            expected_annual_value=form.expected_fen,
            test_report_file=held.stored_name,
            test_report_valid_until=form.test_report_valid_until.data,
            note=(form.note.data or "").strip(),
            held_report_id=held.id,
        )
        try:
            certification.submit_certification(current_user, g.org, product.id, application)
        except ValidationError as exc:
            form_errors(form, exc)
        except IllegalTransition as exc:
            flash(exc.message, "warning")
        else:
            flash(_("认定申请已提交，请等待乡村振兴局审核。"), "success")
            return redirect(url_for("catalog.vendor_certify", product_id=product.id))
    picked, more = households.search_households(
        current_user, g.org, form.pick_q.data if picking else ""
    )
    today = sellability.today()
    return render_template(
        "catalog/vendor/certify.html",
        product=product,
        form=form,
        held=held,
        picked=picked,
        more=more,
        today=today,
        state=dashboard.certification_states([product.id], today)[product.id],
        history=product.certifications,
    )


@bp.route("/vendor/households")
@personal_data
@org_required("products.manage")
def vendor_household_search():
    """The household picker's search (JSON): the vendor's own households matching ``q``,
    with the head's name masked."""
    found, more = households.search_households(current_user, g.org, request.args.get("q", ""))
    return jsonify({"households": [entry.as_json() for entry in found], "more": more})
