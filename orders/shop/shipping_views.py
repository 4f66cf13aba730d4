"""The vendor's shipping rule page (运费设置): a flat fee per order part, free shipping
from an amount, and the provinces it does not deliver fresh goods to. Thin: the form,
then ``shipping.save_rule``."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.authz import org_required
from marketplace.errors import ValidationError
from marketplace.money import format_fen
from marketplace.web import form_errors
from orders import bp
from orders.shop import shipping
from orders.shop.fulfilment_forms import ShippingRuleForm


@bp.route("/vendor/shipping", methods=["GET", "POST"])
@org_required(shipping.MANAGE)
def vendor_shipping():
    rule = shipping.vendor_rule(current_user, g.org)
    form = ShippingRuleForm()
    if request.method == "GET":
        form.flat_fee.data = format_fen(rule.flat_fee_fen) if rule else "0.00"
        form.free_from.data = (
            format_fen(rule.free_from_fen) if rule and rule.free_from_fen is not None else ""
        )
        form.no_fresh_provinces.data = "、".join(rule.no_fresh_provinces or []) if rule else ""
    elif form.validate_on_submit():
        try:
            shipping.save_rule(
                current_user,
                g.org,
                form.flat_fee_fen,
                form.free_from_fen,
                shipping.parse_provinces(form.no_fresh_provinces.data or ""),
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("运费设置已保存，新订单按新规则计算运费。"), "success")
            return redirect(url_for("orders.vendor_shipping"))
    return render_template("orders/vendor/shipping.html", form=form, rule=rule)
