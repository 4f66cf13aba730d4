"""Public catalog pages: the home page section, the product list, product, vendor and
public-notice (公示) pages. Only sellable products appear; households only as counts."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup

from marketplace.errors import NotFound
from marketplace.fragments import cached, fragment
from marketplace.i18n import select_locale
from marketplace.pagination import paginate
from marketplace.web import id_arg, page_arg, page_size

from . import bp, certification, priority, products, public, restock, sellability
from .public import PUBLIC_SORTS, CatalogFilters

SORT_LABELS = {
    "new": _l("推荐"),
    "price_asc": _l("价格从低到高"),
    "price_desc": _l("价格从高到低"),
}
MAX_QUERY = 50


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Templates link to routes other packages add only once those routes exist."""
    return name in current_app.view_functions


def _filters() -> CatalogFilters:
    sort = request.args.get("sort", "new")
    return CatalogFilters(
        q=request.args.get("q", "").strip()[:MAX_QUERY],
        category_id=id_arg("category"),
        district_id=id_arg("district"),
        village_id=id_arg("village"),
        sort=sort if sort in PUBLIC_SORTS else "new",
        priority=request.args.get("priority") == "1",
    )


# the query parameters the list reads; anything else in a link (a share's tracking
# parameters) neither changes the page nor splits its cache entry
LIST_PARAMS = ("q", "category", "district", "village", "sort", "priority", "page")


def _list_args() -> dict[str, str]:
    return {k: request.args[k][:MAX_QUERY] for k in LIST_PARAMS if request.args.get(k)}


@bp.route("/products")
def product_list():
    """The public list. Its body is cached per query (the parameters it reads), language
    and day for a minute, and dropped at once when a product, certification or vendor
    changes."""
    day = sellability.today()
    args = _list_args()
    key = f"list:{select_locale()}:{day.isoformat()}:{urlencode(sorted(args.items()))}"
    body = fragment("catalog", key, lambda: _product_list_body(day, args))
    return render_template("catalog/products.html", body=body)


def _product_list_body(day, list_args: dict[str, str]) -> str:
    filters = _filters()
    places = public.filter_places(filters.district_id, filters.village_id)
    if filters.village_id not in {v.id for v in places.villages}:
        filters.village_id = None  # unknown, or left over from another district
    page = public.public_page(day, filters, page_arg(), page_size())
    return render_template(
        "catalog/_product_list.html",
        page=page,
        filters=filters,
        list_args=list_args,
        categories=products.categories(),
        places=places,
        sort_labels=SORT_LABELS,
        priority_ids=priority.priority_ids((p.id for p in page.items), day),
    )


@bp.route("/products/<int:product_id>")
def product_detail(product_id: int):
    """A product page. What the product is, its certificate and whom it helps are the
    same for every visitor: cached per product, language and day with the list, and
    dropped with it when a product, certification or seller changes (a product that
    stops being sellable says so at once). Stock, units sold and the buy bar are read
    on every request."""
    day = sellability.today()
    key = f"product:{select_locale()}:{day.isoformat()}:{product_id}"
    shown = cached("catalog", key, lambda: _product_parts(product_id, day))
    if not shown:
        raise NotFound()
    shown = dict(shown, **{part: Markup(shown[part]) for part in PRODUCT_PARTS})
    return render_template(
        "catalog/product.html",
        shown=shown,
        restock_subscribed=restock.is_subscribed(current_user, product_id),
    )


PRODUCT_PARTS = ("top", "middle", "bottom")


def _product_parts(product_id: int, day) -> dict | bool:
    """The cached parts of a product page, or False when there is no such public page
    (cached too: a 404 costs no query while it lasts)."""
    product = public.find_public_product(product_id, day, once_public=True)
    if product is None:
        return False
    # not for sale today: the page says why (暂停销售) instead of a bare 404
    suspended = sellability.unsellable_reason(product, day)
    context = {
        "product": product,
        "suspended": suspended,
        "certification": sellability.current_certification(product, day),
        "impact": public.product_impact(product.id, day),
        # featured only while it can be bought, as in the list
        "priority": None if suspended else priority.priority_impact(product.id, day),
    }
    shown = {"id": product.id, "name": product.name, "price": product.price}
    shown["suspended"] = str(suspended) if suspended else None
    for part in PRODUCT_PARTS:
        macro = get_template_attribute("catalog/_product_parts.html", part)
        shown[part] = str(macro(**context))
    return shown


@bp.route("/products/<int:product_id>/restock-alert", methods=["POST"])
@login_required
def restock_alert(product_id: int):
    """到货提醒: subscribe (or, with ``cancel``, stop waiting)."""
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    if request.form.get("cancel"):
        restock.unsubscribe(current_user, product_id)
        flash(_("已取消到货提醒。"), "info")
    else:
        restock.subscribe(current_user, product_id)
        flash(_("已设置到货提醒：补货后会通过站内消息和邮件通知您。"), "success")
    return redirect(url_for("catalog.product_detail", product_id=product_id))


@bp.route("/vendors/<int:vendor_id>")
def vendor_detail(vendor_id: int):
    """A seller's page. Its body is the same for every visitor: cached per seller, page,
    language and day with the list, and dropped with it when a product, certification or
    seller changes."""
    vendor = public.public_vendor(vendor_id)
    day = sellability.today()
    page_no = page_arg()
    key = f"vendor:{select_locale()}:{day.isoformat()}:{vendor.id}:{page_no}"
    body = fragment("catalog", key, lambda: _vendor_body(vendor, day, page_no))
    return render_template("catalog/vendor.html", vendor=vendor, body=body)


def _vendor_body(vendor, day, page_no: int) -> str:
    page = paginate(public.vendor_public_products(vendor.id, day), page_no, page_size())
    return render_template(
        "catalog/_vendor_body.html",
        vendor=vendor,
        page=page,
        priority_ids=priority.priority_ids((p.id for p in page.items), day),
    )


@bp.route("/notices")
def notices():
    day = sellability.today()
    found = certification.recent_notices(day, 30)
    return render_template(
        "catalog/notices.html",
        notices=found,
        sellable=sellability.sellable_ids((c.product_id for c in found), day),
    )


def featured_section() -> Markup:
    """The home page's featured products section, the same for everyone: cached per
    language and day, dropped with the list when a product, certificate or vendor
    changes."""
    day = sellability.today()
    return fragment(
        "catalog",
        f"featured:{select_locale()}:{day.isoformat()}",
        lambda: _featured_body(day),
    )


def _featured_body(day) -> str:
    featured = public.featured_products(day)
    first_priority = public.priority_products(day)
    return render_template(
        "catalog/_featured.html",
        products=featured,
        priority_products=first_priority,
        priority_ids=priority.priority_ids((p.id for p in featured), day),
        categories=products.categories(),
    )
