"""The shop's checkout and payment pages: the checkout form, paying an order (the
gateway or the test gateway) and the return from the gateway.

Views are thin: they parse the form, call one service of the shop and turn its domain
errors into a flashed message. Prices never come from a form.
"""

from __future__ import annotations

import secrets

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from marketplace.accounts import services as accounts
from marketplace.errors import DomainError, ValidationError
from marketplace.web import form_errors
from orders import bp
from orders.ledger.models import Order, OrderStatus
from orders.shop import invoices
from orders.shop import payment as payment_service
from orders.shop.cart import (
    cart_lines,
    stored_cart,
)
from orders.shop.checkout import Delivery, place_order, reservation_minutes
from orders.shop.forms import (
    NEW_ADDRESS,
    CheckoutForm,
    TestPaymentForm,
)
from orders.shop.gateways import GatewayError, TestGateway
from orders.shop.invoice_forms import CheckoutInvoiceForm
from orders.shop.invoice_views import details_of
from orders.shop.models import (
    DeliveryMethod,
    PaymentStatus,
    PickupPoint,
)
from orders.shop.payment import Outcome, confirm_test_payment, current_payment, sync_payment
from orders.shop.pickup import active_pickup_points
from orders.shop.queries import (
    buyer_order,
)
from orders.shop.views import _vendor_groups, shipping_quote

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
            DeliveryMethod.ADDRESS,
            address.recipient,
            address.phone,
            address.one_line(),
            province=address.province,
        )
    parts = [(form[name].data or "").strip() for name in ("province", "city", "district", "detail")]
    return Delivery(
        DeliveryMethod.ADDRESS,
        form.recipient.data.strip(),
        form.phone.data.strip(),
        "".join(parts),
        province=parts[0],
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
    invoice_form = CheckoutInvoiceForm(prefix="invoice")
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
        invoice_form.email.data = current_user.email
    elif form.validate_on_submit() & invoice_form.validate():
        try:
            wanted = _invoice_details(invoice_form)
            order = place_order(current_user, items, _delivery(form), form.token.data)
        except ValidationError as exc:
            form_errors(invoice_form if exc.errors.keys() & INVOICE_FIELDS else form, exc)
        except DomainError as exc:  # OutOfStock, CheckoutError: the cart stays as it is
            flash(exc.message, "danger")
            return redirect(url_for("orders.cart"))
        else:
            if form.wants_new_address() and form.save_address.data:
                _save_new_address(form)
            if wanted is not None:
                invoices.request_for_order(current_user, order.id, wanted)
            # one click from 提交订单 to the gateway: the attempt starts here, on a POST
            if _start_payment(order):
                return redirect(url_for("orders.pay", order_id=order.id))
            return redirect(url_for("orders.order_detail", order_id=order.id))
    lines = cart_lines(items)
    if request.method == "GET" and any(line.problem for line in lines):
        flash(_("购物车中有不能下单的商品，请先调整。"), "warning")
        return redirect(url_for("orders.cart"))
    parts = shipping_quote(lines)
    goods = sum(line.amount for line in lines)
    fees = sum(part.fee_fen for part in parts.values())
    return render_template(
        "orders/shop/checkout.html",
        form=form,
        groups=_vendor_groups(lines, parts),
        goods=goods,
        shipping_total=fees,
        total=goods + fees,
        addresses=current_user.addresses,
        points=points,
        minutes=reservation_minutes(),
        invoice_form=invoice_form,
    )


INVOICE_FIELDS = {"title_kind", "title", "tax_id", "email"}


def _invoice_details(form: CheckoutInvoiceForm) -> invoices.InvoiceDetails | None:
    """The checkout's invoice section, checked, or None when no invoice is wanted."""
    if not form.wanted.data:
        return None
    return invoices.clean_details(details_of(form))


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
