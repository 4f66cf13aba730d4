from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..authz import ACTIVE_ORG_KEY, active_org, can
from ..errors import ValidationError
from ..extensions import limiter
from ..web import safe_next
from . import bp, devices, privacy, services
from .forms import AddressForm, ChangePasswordForm, LoginForm, ProfileForm, RegisterForm


def _apply_errors(form, exc: ValidationError) -> None:
    for field, message in exc.errors.items():
        if field in form:
            form[field].errors.append(message)
    if not exc.errors:
        flash(exc.message, "danger")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_email_limit() -> str:
    return current_app.config["LOGIN_EMAIL_RATE_LIMIT"]


def _form_email() -> str:
    return services.normalize_email(request.form.get("email", ""))


def _login_email_key() -> str:
    return "login:" + _form_email()


def _known_device() -> bool:
    return devices.is_known(_form_email())


def _failed(response) -> bool:
    """Only failed log-ins (the form shown again) use up the allowance."""
    return response.status_code != 302


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def _register_email_limit() -> str:
    return current_app.config["REGISTER_EMAIL_RATE_LIMIT"]


def _register_email_key() -> str:
    return "register:" + _form_email()


def sent(response) -> bool:
    """Rate limits that count only a form that sent something (a mail, a text message):
    its answer is the redirect to the "sent" page."""
    return response.status_code == 302


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
@limiter.limit(
    _register_email_limit, methods=["POST"], key_func=_register_email_key, deduct_when=sent
)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.request_registration(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                phone=form.phone.data,
                next_url=request.args.get("next"),
                policy_version=privacy.current_policy().version if form.agree.data else None,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            # the same answer whether the address is new or taken: see the service
            return redirect(url_for("auth.register_sent"))
    return render_template("accounts/register.html", form=form)


@bp.route("/register/sent")
def register_sent():
    return render_template("accounts/register_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token: str):
    """GET shows a button (mail scanners follow links); POST (CSRF-checked like every
    form) creates the account and logs in."""
    try:
        if request.method == "GET":
            services.registration_request(token)
            return render_template("accounts/register_confirm.html")
        user, next_url = services.confirm_registration(token)
    except services.RegistrationLinkInvalid as exc:
        return render_template("accounts/register_invalid.html", message=exc.message), 404
    logout_user()
    session.pop(ACTIVE_ORG_KEY, None)
    services.start_session(user, remember=False)
    login_user(user)
    flash(_("注册成功，欢迎！"), "success")
    response = redirect(safe_next(next_url, url_for("main.home")))
    devices.remember(response, user.email)
    return response


def _landing(user) -> str:
    """Where a log-in without ``next`` goes: a seller's staff to its dashboard (what to
    do today), everyone else to the home page."""
    if can(user, "products.manage", active_org(user)):
        return url_for("catalog.vendor_dashboard")
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(
    _login_email_limit,
    methods=["POST"],
    key_func=_login_email_key,
    deduct_when=_failed,
    exempt_when=_known_device,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.InvalidCredentials as exc:
            flash(exc.message, "danger")
        else:
            session.pop(ACTIVE_ORG_KEY, None)
            services.start_session(user, remember=form.remember.data)
            login_user(user, remember=form.remember.data)
            response = redirect(safe_next(request.args.get("next"), _landing(user)))
            # what was typed (the e-mail, or the verified phone) is what the limit keys on
            devices.remember(response, _form_email())
            return response
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user)
    logout_user()  # and the remember-me cookie is deleted with the response
    session.pop(ACTIVE_ORG_KEY, None)
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("main.home"))


@bp.route("/account/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    services.end_all_sessions(current_user)
    logout_user()
    session.pop(ACTIVE_ORG_KEY, None)
    flash(_("已退出所有设备，请重新登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(
            current_user, name=form.name.data, phone=form.phone.data, locale=form.locale.data
        )
        flash(_("资料已保存。"), "success")
        return redirect(url_for("auth.profile"))
    return render_template("accounts/profile.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            login = services.change_password(current_user, form.current.data, form.password.data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            # this browser goes on under the new log-in
            login_user(current_user._get_current_object(), remember=login.remember)
            flash(_("密码已修改，其他设备上的登录已全部退出。"), "success")
            return redirect(url_for("auth.profile"))
    return render_template("accounts/password.html", form=form)


@bp.route("/account/addresses", methods=["GET", "POST"])
@login_required
def addresses():
    form = AddressForm()
    if form.validate_on_submit():
        services.save_address(current_user, form.data)
        flash(_("地址已保存。"), "success")
        return redirect(url_for("auth.addresses"))
    return render_template("accounts/addresses.html", form=form, addresses=current_user.addresses)


@bp.route("/account/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit_address(address_id: int):
    address = services.own_address(current_user, address_id)
    form = AddressForm(obj=address)
    if form.validate_on_submit():
        services.save_address(current_user, form.data, address_id=address.id)
        flash(_("地址已保存。"), "success")
        return redirect(url_for("auth.addresses"))
    return render_template("accounts/address_edit.html", form=form, address=address)


@bp.route("/account/addresses/<int:address_id>/default", methods=["POST"])
@login_required
def default_address(address_id: int):
    services.set_default_address(current_user, address_id)
    flash(_("已设为默认地址。"), "success")
    return redirect(url_for("auth.addresses"))


@bp.route("/account/addresses/<int:address_id>/delete", methods=["POST"])
@login_required
def delete_address(address_id: int):
    services.delete_address(current_user, address_id)
    flash(_("地址已删除。"), "info")
    return redirect(url_for("auth.addresses"))
