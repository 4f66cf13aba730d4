"""Counters pages: the retailer's stores and the vendor's counters in them, each
reporting what the counter sold."""

from __future__ import annotations

from flask import (
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from catalog.models import Product
from marketplace.authz import org_required
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization
from orders import bp
from orders.fairs import counters
from orders.fairs.forms import (
    CounterReportForm,
    PlaceGoodsForm,
    StoreForm,
)
from orders.fairs.models import Store
from orders.fairs.views import _form_error
from vendors.stock import OutOfStock


def _counter_page(store: Store, vendor_id: int | None, endpoint: str):
    form = CounterReportForm()
    if vendor_id is None:
        vendor_ids = counters.vendors_of_store(store)
        vendor_choices = [
            SelectChoice(v.id, v.name)
            for v in db.session.scalars(
                select(Organization)
                .where(Organization.id.in_(vendor_ids))
                .order_by(Organization.name)
            )
        ]
    else:
        vendor_choices = [SelectChoice(g.org.id, g.org.name)]
    form.vendor_id.choices = vendor_choices
    chosen_vendors = [c.value for c in vendor_choices]
    form.product_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(p.id, f"{p.name} ({p.sku})")
        for p in db.session.scalars(
            select(Product).where(Product.vendor_id.in_(chosen_vendors)).order_by(Product.name)
        )
    ]
    if form.validate_on_submit():
        try:
            if form.file.data:
                upload = form.file.data
                lines = counters.lines_from_file(
                    form.vendor_id.data, upload.filename or "", upload.read(5_000_000)
                )
            elif form.product_id.data and form.quantity.data and form.amount.data:
                lines = [
                    counters.ReportLine(form.product_id.data, form.quantity.data, form.amount.fen)
                ]
            else:
                raise ValidationError(_("请填写产品、数量和金额，或上传文件"))
            counters.report_counter_sales(
                current_user,
                g.org,
                store.id,
                form.vendor_id.data,
                form.period_start.data,
                form.period_end.data,
                lines,
            )
            flash(_("销售已报告"), "success")
            return redirect(url_for(endpoint, store_id=store.id))
        except (ValidationError, IllegalTransition, OutOfStock) as exc:
            flash(exc.message, "danger")
    elif request.method == "POST":
        _form_error(form)
    return render_template(
        "orders/fairs/counter.html",
        store=store,
        view=counters.counter_view(store, vendor_id),
        form=form,
    )


@bp.route("/retailer/stores", methods=["GET", "POST"])
@org_required("counters.sell")
def retailer_stores():
    form = StoreForm()
    if form.validate_on_submit():
        try:
            counters.register_store(
                current_user, g.org, form.name.data, form.address.data, form.district.data
            )
            flash(_("门店已登记"), "success")
            return redirect(url_for("orders.retailer_stores"))
        except ValidationError as exc:
            flash(exc.message, "danger")
    elif request.method == "POST":
        _form_error(form)
    return render_template("orders/fairs/stores.html", stores=counters.stores(g.org), form=form)


@bp.route("/retailer/stores/<int:store_id>", methods=["GET", "POST"])
@org_required("counters.sell")
def retailer_store(store_id: int):
    store = counters.retailer_store(g.org, store_id)
    return _counter_page(store, None, "orders.retailer_store")


@bp.route("/vendor/counters", methods=["GET", "POST"])
@org_required("stock.manage")
def vendor_counters():
    form = PlaceGoodsForm()
    form.store_id.choices = [SelectChoice(s.id, s.name) for s in counters.stores()]
    form.product_id.choices = [
        SelectChoice(p.id, f"{p.name} ({p.sku})")
        for p in db.session.scalars(
            select(Product).where(Product.vendor_id == g.org.id).order_by(Product.name)
        )
    ]
    if form.validate_on_submit():
        args = (current_user, g.org, form.store_id.data, form.product_id.data, form.quantity.data)
        try:
            if form.action.data == "from":
                counters.take_back_from_counter(*args)
            else:
                counters.place_at_counter(*args)
            flash(_("库存已更新"), "success")
            return redirect(url_for("orders.vendor_counters"))
        except (ValidationError, OutOfStock) as exc:
            flash(exc.message, "danger")
    elif request.method == "POST":
        _form_error(form)
    mine = counters.stores_of_vendor(g.org.id)
    return render_template("orders/fairs/vendor_counters.html", form=form, stores=mine)


@bp.route("/vendor/counters/<int:store_id>", methods=["GET", "POST"])
@org_required("stock.manage")
def vendor_counter(store_id: int):
    store = counters.any_store(store_id)
    return _counter_page(store, g.org.id, "orders.vendor_counter")
