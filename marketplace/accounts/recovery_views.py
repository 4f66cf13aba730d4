"""忘记密码: the pages of the reset-by-mail flow (accounts.recovery)."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..authz import ACTIVE_ORG_KEY
from ..errors import ValidationError
from ..extensions import limiter
from ..web import form_errors
from . import bp, recovery, services
from .forms import ForgotPasswordForm, ResetPasswordForm
from .views import sent


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


def _reset_email_limit() -> str:
    return current_app.config["PASSWORD_RESET_EMAIL_RATE_LIMIT"]


def _reset_email_key() -> str:
    return "reset:" + services.normalize_email(request.form.get("email", ""))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_email_limit, methods=["POST"], key_func=_reset_email_key, deduct_when=sent)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_reset(form.email.data)
        # the same answer whether or not the address has an account: see the service
        return redirect(url_for("auth.forgot_password_sent"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/forgot/sent")
def forgot_password_sent():
    return render_template("accounts/forgot_sent.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """GET shows the new-password form (a mail scanner following the link changes
    nothing); POST sets the password, once."""
    try:
        user = recovery.reset_user(token)
    except recovery.ResetLinkInvalid as exc:
        return render_template("accounts/reset_invalid.html", message=exc.message), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.password.data)
        except recovery.ResetLinkInvalid as exc:
            return render_template("accounts/reset_invalid.html", message=exc.message), 404
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            if current_user.is_authenticated:  # its log-in has just ended too
                logout_user()
                session.pop(ACTIVE_ORG_KEY, None)
            flash(_("密码已重设，所有设备上的登录都已退出。请用新密码登录。"), "success")
            return redirect(url_for("auth.login"))
    return render_template("accounts/reset.html", form=form, email=user.email)
