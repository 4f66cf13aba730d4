"""The buyer's side of the online shop: cart, checkout, payment pages, my orders.

Views are thin: they parse the form, call one service of the shop (``cart``, ``checkout``,
``payment``, ``queries``, ``fulfilment``) and turn its domain errors into a flashed
message. Prices never come from a form.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from itertools import groupby

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, user_logged_in
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from wtforms import SelectChoice

from marketplace.accounts import services as accounts
from marketplace.errors import DomainError, ValidationError
from marketplace.extensions import db
from marketplace.models import utcnow
from marketplace.pagination import paginate
from marketplace.web import flash_form_errors, form_errors, page_arg, page_size, safe_next
from orders import bp
from orders.ledger.models import PAID_STATUSES, Order, OrderLine, OrderStatus
from orders.shop import cart as cart_service
from orders.shop import fulfilment, station
from orders.shop import payment as payment_service
from orders.shop.aftersales import RESPONSE_DAYS
from orders.shop.cart import (
    CartLine,
    cart_lines,
    check_addable,
    merge_cart,
    set_cart_quantity,
    stored_cart,
)
from orders.shop.checkout import Delivery, place_order, reservation_minutes
from orders.shop.display import (
    AFTER_SALES_KIND_LABELS,
    AFTER_SALES_STATUS_LABELS,
    PAYMENT_METHOD_LABELS,
    PICKUP_KIND_LABELS,
    SHIPMENT_LABELS,
    order_badge,
    order_timeline,
    pickup_code,
)
from orders.shop.expiry import expire_if_due
from orders.shop.forms import (
    NEW_ADDRESS,
    CancelOrderForm,
    CartAddForm,
    CartRemoveForm,
    CartUpdateForm,
    CheckoutForm,
    ReturnShippedForm,
    TestPaymentForm,
)
from orders.shop.gateways import GatewayError, TestGateway
from orders.shop.models import (
    DeliveryMethod,
    PaymentStatus,
    PickupPoint,
)
from orders.shop.payment import Outcome, confirm_test_payment, current_payment, sync_payment
from orders.shop.pickup import active_pickup_points
from orders.shop.queries import (
    ORDER_TABS,
    buyer_order,
    buyer_orders,
    buyer_tab_counts,
    line_thumbnails,
    order_impact,
    order_refunds,
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
    """已售 N 件 on a product page: units of it in paid orders, net of refunds."""
    return db.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id == product_id, Order.status.in_(PAID_STATUSES))
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


def _vendor_groups(lines: list[CartLine]) -> list[dict]:
    groups = []
    for _vendor_id, group in groupby(lines, key=lambda line: line.product.vendor_id):
        group_lines = list(group)
        groups.append(
            {
                "vendor": group_lines[0].product.vendor,
                "lines": group_lines,
                "total": sum(line.amount for line in group_lines),
            }
        )
    return groups


@bp.route("/cart")
def cart():
    lines = cart_lines(current_cart())
    return render_template(
        "orders/shop/cart.html",
        groups=_vendor_groups(lines),
        total=sum(line.amount for line in lines),
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


# ---------------------------------------------------------------- checkout


def _checkout_choices(form: CheckoutForm) -> list[PickupPoint]:
    addresses = sorted(current_user.addresses, key=lambda a: (not a.is_default, a.id))
    form.address_id.choices = [SelectChoice(a.id, a.one_line()) for a in addresses] + [
        SelectChoice(NEW_ADDRESS, _("使用新地址"))
    ]
    points = active_pickup_points()
    form.pickup_point_id.choices = [SelectChoice(0, _("请选择自提点"))] + [
        SelectChoice(p.id, f"{p.district}{p.town} · {p.name}") for p in points
    ]
    return points


def _delivery(form: CheckoutForm) -> Delivery:
    if form.delivery_method.data == DeliveryMethod.PICKUP:
        return Delivery(
            DeliveryMethod.PICKUP,
            recipient=current_user.name or "",
            phone=(form.pickup_phone.data or "").strip(),
            pickup_point_id=form.pickup_point_id.data,
        )
    if form.address_id.data != NEW_ADDRESS:
        address = accounts.own_address(current_user, form.address_id.data)
        return Delivery(
            DeliveryMethod.ADDRESS, address.recipient, address.phone, address.one_line()
        )
    parts = [(form[name].data or "").strip() for name in ("province", "city", "district", "detail")]
    return Delivery(
        DeliveryMethod.ADDRESS,
        form.recipient.data.strip(),
        form.phone.data.strip(),
        "".join(parts),
    )


def _save_new_address(form: CheckoutForm) -> None:
    """Keep the new address when asked (once: a double-clicked submit saves no copy)."""
    data = {name: (form[name].data or "").strip() for name in form.NEW_ADDRESS_FIELDS}
    for address in current_user.addresses:
        if all(getattr(address, name) == value for name, value in data.items()):
            return
    accounts.save_address(current_user, data)


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    items = stored_cart(current_user)
    form = CheckoutForm()
    points = _checkout_choices(form)
    if request.method == "GET":
        if not items:
            flash(_("购物车是空的。"), "info")
            return redirect(url_for("orders.cart"))
        default = next((a for a in current_user.addresses if a.is_default), None)
        if default is not None:
            form.address_id.data = default.id
        form.pickup_phone.data = current_user.phone or ""
        form.token.data = secrets.token_urlsafe(24)  # one order per rendered form
    elif form.validate_on_submit():
        try:
            order = place_order(current_user, items, _delivery(form), form.token.data)
        except ValidationError as exc:
            form_errors(form, exc)
        except DomainError as exc:  # OutOfStock, CheckoutError: the cart stays as it is
            flash(exc.message, "danger")
            return redirect(url_for("orders.cart"))
        else:
            if form.wants_new_address() and form.save_address.data:
                _save_new_address(form)
            # one click from 提交订单 to the gateway: the attempt starts here, on a POST
            if _start_payment(order):
                return redirect(url_for("orders.pay", order_id=order.id))
            return redirect(url_for("orders.order_detail", order_id=order.id))
    lines = cart_lines(items)
    if request.method == "GET" and any(line.problem for line in lines):
        flash(_("购物车中有不能下单的商品，请先调整。"), "warning")
        return redirect(url_for("orders.cart"))
    return render_template(
        "orders/shop/checkout.html",
        form=form,
        groups=_vendor_groups(lines),
        total=sum(line.amount for line in lines),
        addresses=current_user.addresses,
        points=points,
        minutes=reservation_minutes(),
    )


# ---------------------------------------------------------------- payment


def _start_payment(order: Order) -> bool:
    """Start (or continue) the order's payment attempt; False, with the reason flashed,
    when it cannot be started now."""
    try:
        payment_service.start_payment(order)
    except GatewayError:
        current_app.logger.exception("starting a payment for %s failed", order.number)
        flash(_("暂时无法连接支付渠道，请稍后再试。"), "danger")
        return False
    except DomainError as exc:
        flash(exc.message, "warning")
        return False
    return True


@bp.route("/orders/<bigint:order_id>/pay")
@login_required
def pay(order_id: int):
    """The payment page. A GET shows the order's open attempt, or a button that starts
    one: it never creates an attempt itself (a link prefetch or a crawler starts nothing)."""
    order = buyer_order(current_user, order_id)
    if order.is_paid:
        flash(_("该订单已付款。"), "info")
        return redirect(url_for("orders.order_detail", order_id=order.id))
    if order.status != OrderStatus.PENDING_PAYMENT:
        flash(_("订单当前状态不能付款"), "warning")
        return redirect(url_for("orders.order_detail", order_id=order.id))
    try:
        payment = current_payment(order)
    except GatewayError:
        current_app.logger.exception("reading the payment of %s failed", order.number)
        flash(_("暂时无法连接支付渠道，请稍后再试。"), "danger")
        return redirect(url_for("orders.order_detail", order_id=order.id))
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("orders.order_detail", order_id=order.id))
    failed = [p for p in order.payments if p.status == PaymentStatus.FAILED]
    context = {"order": order, "payment": payment, "last_failure": failed[-1] if failed else None}
    if payment is None:
        return render_template("orders/shop/pay_start.html", form=FlaskForm(), **context)
    if payment.provider == "stripe":
        return render_template(
            "orders/shop/pay_stripe.html",
            publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or "",
            client_secret=payment.client_secret,
            return_url=url_for("orders.payment_return", order_id=order.id, _external=True),
            **context,
        )
    form = TestPaymentForm()
    form.token.data = TestGateway(current_app.config).token(order, payment.reference)
    return render_template("orders/shop/pay_test.html", form=form, **context)


@bp.route("/orders/<bigint:order_id>/pay", methods=["POST"])
@login_required
def start_payment(order_id: int):
    """The 去支付 button: start a payment attempt (or continue the open one), then show it."""
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    order = buyer_order(current_user, order_id)
    if _start_payment(order):
        return redirect(url_for("orders.pay", order_id=order.id))
    return redirect(url_for("orders.order_detail", order_id=order.id))


@bp.route("/orders/<bigint:order_id>/pay/test", methods=["POST"])
@login_required
def pay_test(order_id: int):
    """The local test gateway's buttons: the signed token decides which order, amount and
    attempt; the button only says success or failure."""
    form = TestPaymentForm()
    if not form.validate_on_submit():
        abort(400)
    succeeded = request.form.get("outcome") == "success"
    try:
        outcome = confirm_test_payment(current_user, order_id, form.token.data, succeeded)
    except DomainError as exc:  # a bad token, OutOfStock, IllegalTransition: said, not a 500
        flash(exc.message, "danger")
    else:
        _flash_outcome(outcome)
    return redirect(url_for("orders.order_detail", order_id=order_id))


def _flash_outcome(outcome: Outcome | None) -> None:
    if outcome is None:
        flash(_("支付结果确认中，请稍后刷新页面查看。"), "info")
    elif outcome.status in ("paid", "already_paid"):
        flash(_("付款成功，感谢您参与消费帮扶！"), "success")
    elif outcome.status == "failed":
        flash(_("支付未成功，订单仍为待付款，您可以重新支付。"), "warning")
    elif outcome.status == "refunded":
        flash(outcome.message or _("付款已退回。"), "warning")


@bp.route("/orders/<bigint:order_id>/return")
@login_required
def payment_return(order_id: int):
    """Where Stripe sends the buyer back: ask Stripe directly (a verified retrieve)."""
    order = buyer_order(current_user, order_id)
    if order.is_paid:
        _flash_outcome(Outcome("already_paid", order))
    else:
        try:
            _flash_outcome(sync_payment(order))
        except DomainError as exc:
            flash(exc.message, "danger")
    return redirect(url_for("orders.order_detail", order_id=order.id))


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
