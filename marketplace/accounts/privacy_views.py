"""The privacy policy and the person's rights over their data (accounts.privacy): the
policy page, the bureau's editor, "my data" (consents, download) and account deletion."""

import json

from flask import Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ..authz import ACTIVE_ORG_KEY, org_required
from ..clock import local_today
from ..errors import DomainError, ValidationError
from ..i18n import select_locale
from ..publication import personal_data
from ..web import form_errors, to_id
from . import bp, privacy
from .forms import AgreeForm, DeleteAccountForm, PolicyForm


@bp.route("/privacy")
def privacy_policy():
    """The version in force, or ``?version=N`` (an earlier one a person agreed to)."""
    current = privacy.current_policy()
    wanted = to_id(request.args.get("version")) if request.args.get("version") else None
    policy = privacy.policy_version(wanted) if wanted else current
    if policy is None:
        abort(404)
    return render_template(
        "accounts/privacy.html",
        policy=policy,
        current=current,
        body=policy.body(select_locale()),
    )


@bp.route("/bureau/privacy", methods=["GET", "POST"])
@org_required("privacy.edit")
def edit_policy():
    current = privacy.current_policy()
    form = PolicyForm(data={"body_zh": current.body_zh, "body_en": current.body_en})
    if form.validate_on_submit():
        try:
            published = privacy.publish_policy(
                current_user,
                g.org,
                body_zh=form.body_zh.data,
                body_en=form.body_en.data,
                note=form.note.data or "",
            )
        except ValidationError as exc:
            form_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "danger")
        else:
            flash(_("已发布第 %(v)d 版，即日起生效。", v=published.version), "success")
            return redirect(url_for("auth.edit_policy"))
    return render_template(
        "accounts/policy_edit.html", form=form, current=current, history=privacy.policy_history()
    )


@bp.route("/account/privacy")
@login_required
def my_data():
    return render_template(
        "accounts/my_data.html",
        consents=privacy.consents(current_user),
        current=privacy.current_policy(),
        needs_consent=privacy.needs_consent(current_user),
        agree_form=AgreeForm(version=privacy.current_policy().version),
    )


@bp.route("/account/privacy/agree", methods=["POST"])
@login_required
def agree_policy():
    form = AgreeForm()
    if form.validate_on_submit():
        try:
            privacy.agree(current_user, to_id(form.version.data) or 0)
        except DomainError as exc:
            flash(exc.message, "warning")
        else:
            flash(_("已记录您对新版隐私政策的同意。"), "success")
    return redirect(url_for("auth.my_data"))


@bp.route("/account/privacy/export")
@login_required
@personal_data
def export_my_data():
    data = privacy.export_data(current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"my-data-{local_today().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    reasons = privacy.open_obligations(current_user)
    if form.validate_on_submit():
        try:
            privacy.delete_account(current_user, form.password.data)
        except privacy.AccountNotDeletable as exc:
            reasons = exc.reasons
        except ValidationError as exc:
            form_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "danger")
        else:
            logout_user()
            session.pop(ACTIVE_ORG_KEY, None)
            flash(_("您的账号已注销，个人信息已删除。感谢您对消费帮扶的支持。"), "info")
            return redirect(url_for("main.home"))
    return render_template("accounts/delete.html", form=form, reasons=reasons)
