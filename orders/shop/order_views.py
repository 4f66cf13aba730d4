"""The buyer's orders pages: my orders, one order, buy again, cancel, confirm receipt.

Views are thin: they call one service of the shop and turn its domain errors into a
flashed message.
"""

from __future__ import annotations

from itertools import groupby

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.errors import DomainError
from marketplace.models import utcnow
from marketplace.pagination import paginate
from marketplace.web import page_arg, page_size
from orders import bp
from orders.shop import cart as cart_service
from orders.shop import fulfilment, invoices
from orders.shop.aftersales import RESPONSE_DAYS
from orders.shop.display import (
    order_timeline,
    pickup_code,
)
from orders.shop.expiry import expire_if_due
from orders.shop.forms import (
    CancelOrderForm,
    ReturnShippedForm,
)
from orders.shop.queries import (
    ORDER_TABS,
    buyer_order,
    buyer_orders,
    buyer_tab_counts,
    line_thumbnails,
    order_impact,
    order_refunds,
)

# ---------------------------------------------------------------- my orders


ORDER_TAB_LABELS = {
    "unpaid": _l("待付款"),
    "to_ship": _l("待发货"),
    "to_receive": _l("待收货"),
    "completed": _l("已完成"),
    "after_sales": _l("售后"),
}


@bp.route("/orders")
@login_required
def my_orders():
    tab = request.args.get("tab", "")
    tab = tab if tab in ORDER_TABS else ""
    now = utcnow()
    page = paginate(buyer_orders(current_user, tab, now), page_arg(), page_size())
    for order in page.items:  # expired reservations are expired when seen
        expire_if_due(order, now)
    return render_template(
        "orders/shop/orders.html",
        page=page,
        tab=tab,
        tabs=ORDER_TAB_LABELS,
        counts=buyer_tab_counts(current_user, now),
        thumbs=line_thumbnails(page.items),
        again_form=FlaskForm(),
        now=now,
    )


@bp.route("/orders/<bigint:order_id>/again", methods=["POST"])
@login_required
def buy_again(order_id: int):
    """再次购买: the order's products back in the cart, then the cart."""
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    order = buyer_order(current_user, order_id)
    added, left_out = cart_service.buy_again(
        current_user, [(line.product_id, line.quantity, line.product_name) for line in order.lines]
    )
    if added:
        flash(_("已加入购物车：%(names)s", names="、".join(added)), "success")
    if left_out:
        flash(_("以下商品暂时无法购买：%(names)s", names="、".join(left_out)), "warning")
    return redirect(url_for("orders.cart"))


@bp.route("/orders/<bigint:order_id>")
@login_required
def order_detail(order_id: int):
    order = buyer_order(current_user, order_id)
    refunds = order_refunds(order)
    requests_by_part: dict[int, list] = {}
    for req in order.after_sales:
        requests_by_part.setdefault(req.shipment_id, []).append(req)
    return render_template(
        "orders/shop/order.html",
        order=order,
        timeline=order_timeline(order, refunds),
        impact=order_impact(order) if order.paid_at else None,
        refunded_in_full=order.refunded_in_full,
        pickup_code=pickup_code(order),
        lines_by_vendor={
            vendor_id: list(lines)
            for vendor_id, lines in groupby(
                sorted(order.lines, key=lambda line: line.vendor_id), key=lambda x: x.vendor_id
            )
        },
        cancel_form=CancelOrderForm(),
        return_form=ReturnShippedForm(),
        requests_by_part=requests_by_part,
        invoices_by_part=invoices.pending_requests(order),
        invoiceable=invoices.invoiceable,
        escalate_after=RESPONSE_DAYS,
        now=utcnow(),
    )


@bp.route("/orders/<bigint:order_id>/cancel", methods=["POST"])
@login_required
def cancel_order(order_id: int):
    form = CancelOrderForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        order = fulfilment.cancel_by_buyer(current_user, order_id, form.reason.data or "")
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        if order.refunded:
            flash(_("订单已取消，款项将按原支付方式退回。"), "success")
        else:
            flash(_("订单已取消。"), "success")
    return redirect(url_for("orders.order_detail", order_id=order_id))


@bp.route("/orders/<bigint:order_id>/receive", methods=["POST"])
@login_required
def confirm_receipt(order_id: int):
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        fulfilment.confirm_receipt(current_user, order_id)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已确认收货，感谢您的支持！"), "success")
    return redirect(url_for("orders.order_detail", order_id=order_id))
