"""The buyer's side of the online shop: the cart (its storage and its pages); checkout and
payment pages are in ``checkout_views``, my orders in ``order_views``.

Views are thin: they parse the form, call one service of the shop (``cart``, ``checkout``,
``payment``, ``queries``, ``fulfilment``) and turn its domain errors into a flashed
message. Prices never come from a form.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby

from flask import (
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from marketplace.errors import DomainError, ValidationError
from marketplace.extensions import db
from marketplace.fragments import cached
from marketplace.web import flash_form_errors, safe_next
from orders import bp
from orders.ledger.models import PAID_STATUSES, Order, OrderLine
from orders.ledger.services import SALES_AREA
from orders.shop import shipping, station
from orders.shop.cart import (
    CartLine,
    cart_lines,
    check_addable,
    merge_cart,
    set_cart_quantity,
    stored_cart,
)
from orders.shop.display import (
    AFTER_SALES_KIND_LABELS,
    AFTER_SALES_STATUS_LABELS,
    PAYMENT_METHOD_LABELS,
    PICKUP_KIND_LABELS,
    SHIPMENT_LABELS,
    order_badge,
)
from orders.shop.forms import (
    CartAddForm,
    CartRemoveForm,
    CartUpdateForm,
)

CART_KEY = "cart"
VISITOR_CART_LINES = 50


@bp.app_context_processor
def shop_helpers() -> dict:
    return {
        "cart_count": cart_count,
        "is_station_staff": is_station_staff,
        "order_badge": order_badge,
        "SHIPMENT_LABELS": SHIPMENT_LABELS,
        "AFTER_SALES_KIND_LABELS": AFTER_SALES_KIND_LABELS,
        "AFTER_SALES_STATUS_LABELS": AFTER_SALES_STATUS_LABELS,
        "PICKUP_KIND_LABELS": PICKUP_KIND_LABELS,
        "PAYMENT_METHOD_LABELS": PAYMENT_METHOD_LABELS,
    }


# ---------------------------------------------------------------- the cart's storage


def _visitor_cart() -> dict[int, int]:
    """The session cart ``{product_id: quantity}`` (JSON turns the keys into strings)."""
    raw = session.get(CART_KEY)
    items: dict[int, int] = {}
    if isinstance(raw, Mapping):
        for key, quantity in raw.items():
            if str(key).isdigit() and isinstance(quantity, int) and quantity > 0:
                items[int(key)] = quantity
    return items


def _save_visitor_cart(items: Mapping[int, int]) -> None:
    session[CART_KEY] = {str(pid): qty for pid, qty in items.items() if qty > 0}


def current_cart() -> dict[int, int]:
    if current_user.is_authenticated:
        return stored_cart(current_user)
    return _visitor_cart()


@bp.app_template_global("sold_units")
def sold_units(product_id: int) -> int:
    """已售 N 件 on a product page: units of it in paid orders of every channel, net of
    refunds. Cached for a few minutes with the other sales figures, and dropped when
    the paid-sale core commits a sale or a refund."""
    return cached(SALES_AREA, f"sold:{product_id}", lambda: _sold_units(product_id), SOLD_TTL)


SOLD_TTL = 300  # seconds


def _sold_units(product_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id == product_id, Order.status.in_(PAID_STATUSES))
        )
    )


def is_station_staff() -> bool:
    """Whether the signed-in person works at a pick-up point (the menu's 服务站工作台)."""
    try:
        return current_user.is_authenticated and station.works_at_a_point(current_user)
    except SQLAlchemyError:
        return False


def cart_count() -> int:
    """Units in the cart, for the navbar (0 when the database cannot answer, so an error
    page still renders)."""
    try:
        return sum(current_cart().values())
    except SQLAlchemyError:
        return 0


def _set_quantity(product_id: int, quantity: int) -> None:
    """Set a cart line (0 removes); the service checks the product may be sold."""
    if current_user.is_authenticated:
        set_cart_quantity(current_user, product_id, quantity)
        return
    items = _visitor_cart()
    if quantity <= 0:
        items.pop(product_id, None)
    else:
        if product_id not in items and len(items) >= VISITOR_CART_LINES:
            # the session is a cookie: keep it small (a logged-in cart has no such limit)
            raise ValidationError(_("购物车最多放 %(n)d 种商品，请先登录", n=VISITOR_CART_LINES))
        check_addable(product_id, quantity)
        items[product_id] = quantity
    _save_visitor_cart(items)


@bp.record_once
def _merge_cart_at_login(state) -> None:
    user_logged_in.connect(_merge_visitor_cart, state.app, weak=False)


def _merge_visitor_cart(sender, user, **extra) -> None:
    """At log-in (or right after registering) the visitor's cart joins the stored one."""
    items = _visitor_cart()
    if items:
        merge_cart(user, items)
    session.pop(CART_KEY, None)


# ---------------------------------------------------------------- cart pages


def shipping_quote(lines: list[CartLine]) -> dict[int, shipping.PartFee]:
    """Each vendor's shipping fee for the cart's lines delivered to an address (a
    pick-up at a station pays none)."""
    return shipping.quote([(line.product, line.amount) for line in lines])


def _vendor_groups(lines: list[CartLine], parts: dict[int, shipping.PartFee]) -> list[dict]:
    """The lines by vendor, each group with its goods total and its shipping (``part``:
    the fee, the free-shipping amount, how much more ships it free)."""
    groups = []
    for vendor_id, group in groupby(lines, key=lambda line: line.product.vendor_id):
        group_lines = list(group)
        groups.append(
            {
                "vendor": group_lines[0].product.vendor,
                "lines": group_lines,
                "total": sum(line.amount for line in group_lines),
                "part": parts[vendor_id],
            }
        )
    return groups


@bp.route("/cart")
def cart():
    lines = cart_lines(current_cart())
    parts = shipping_quote(lines)
    goods = sum(line.amount for line in lines)
    fees = sum(part.fee_fen for part in parts.values())
    return render_template(
        "orders/shop/cart.html",
        groups=_vendor_groups(lines, parts),
        goods=goods,
        shipping_total=fees,
        total=goods + fees,
        units=sum(line.quantity for line in lines),
        blocked=any(line.problem for line in lines),
        update_form=CartUpdateForm(),
    )


def _product_id_and_quantity(form) -> tuple[int, int] | None:
    if not form.validate_on_submit():
        flash_form_errors(form)
        return None
    return form.product_id.data, form.quantity.data


@bp.route("/cart/add", methods=["POST"])
def cart_add():
    form = CartAddForm()
    back = safe_next(form.next.data, url_for("orders.cart"))
    parsed = _product_id_and_quantity(form)
    if parsed is None:
        return redirect(back)
    product_id, quantity = parsed
    try:
        _set_quantity(product_id, current_cart().get(product_id, 0) + quantity)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已加入购物车。"), "success")
    return redirect(back)


@bp.route("/cart/update", methods=["POST"])
def cart_update():
    form = CartUpdateForm()
    parsed = _product_id_and_quantity(form)
    if parsed is not None:
        product_id, quantity = parsed
        if product_id in current_cart():
            try:
                _set_quantity(product_id, quantity)
            except DomainError as exc:
                flash(exc.message, "danger")
            else:
                flash(_("购物车已更新。"), "success")
    return redirect(url_for("orders.cart"))


@bp.route("/cart/remove", methods=["POST"])
def cart_remove():
    form = CartRemoveForm()
    if form.validate_on_submit():
        _set_quantity(form.product_id.data, 0)
        flash(_("已从购物车移除。"), "info")
    return redirect(url_for("orders.cart"))
