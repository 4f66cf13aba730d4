"""验证手机号: ask for a texted code, then enter it (accounts.phone)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ValidationError
from ..extensions import limiter
from ..web import form_errors
from . import bp, phone
from .forms import PhoneCodeForm, PhoneForm
from .views import sent


def _code_limit() -> str:
    return current_app.config["PHONE_CODE_RATE_LIMIT"]


def _account_key() -> str:
    return f"phone-code-user:{getattr(current_user, 'id', None)}"


def _number_key() -> str:
    return "phone-code-number:" + request.form.get("phone", "").strip()


@bp.route("/account/phone", methods=["GET", "POST"])
@limiter.limit(_code_limit, methods=["POST"], key_func=_account_key, deduct_when=sent)
@limiter.limit(_code_limit, methods=["POST"], key_func=_number_key, deduct_when=sent)
@login_required
def verify_phone():
    form = PhoneForm(phone=current_user.phone)
    if form.validate_on_submit():
        try:
            phone.send_code(current_user, form.phone.data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("验证码已发送到 %(phone)s。", phone=form.phone.data), "info")
            return redirect(url_for("auth.verify_phone_code"))
    return render_template("accounts/phone.html", form=form)


@bp.route("/account/phone/code", methods=["GET", "POST"])
@login_required
def verify_phone_code():
    pending = phone.pending_code(current_user)
    if pending is None and request.method == "GET":
        flash(_("验证码已失效，请重新获取。"), "warning")
        return redirect(url_for("auth.verify_phone"))
    form = PhoneCodeForm()
    if form.validate_on_submit():
        try:
            number = phone.verify_code(current_user, form.code.data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("手机号 %(phone)s 已验证，现在可以用它登录。", phone=number), "success")
            return redirect(url_for("auth.profile"))
    return render_template("accounts/phone_code.html", form=form, pending=pending)
