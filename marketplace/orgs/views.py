from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..authz import ACTIVE_ORG_KEY, org_required
from ..errors import IllegalTransition, ValidationError
from ..models import OrgStatus
from ..pagination import paginate
from ..web import form_errors, page_arg, page_size
from . import bp, services
from .forms import (
    KIND_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    AddMemberForm,
    OrgApplicationForm,
    RejectForm,
    RoleForm,
)


@bp.app_context_processor
def labels():
    return {"KIND_LABELS": KIND_LABELS, "ROLE_LABELS": ROLE_LABELS, "STATUS_LABELS": STATUS_LABELS}


@bp.route("/orgs/apply", methods=["GET", "POST"])
@login_required
def apply():
    form = OrgApplicationForm()
    if form.validate_on_submit():
        try:
            org = services.apply_for_org(current_user, form.data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            session[ACTIVE_ORG_KEY] = org.id
            flash(_("申请已提交，乡村振兴局审核通过后即可使用。"), "success")
            return redirect(url_for("orgs.mine"))
    return render_template("orgs/apply.html", form=form)


@bp.route("/orgs/mine")
@login_required
def mine():
    return render_template("orgs/mine.html", memberships=current_user.memberships, form=FlaskForm())


@bp.route("/orgs/switch/<int:org_id>", methods=["POST"])
@login_required
def switch(org_id: int):
    org = services.membership_org(current_user, org_id)
    session[ACTIVE_ORG_KEY] = org.id
    flash(_("当前身份：%(name)s", name=org.name), "info")
    return redirect(url_for("orgs.mine"))


@bp.route("/orgs/members", methods=["GET", "POST"])
@org_required("org.manage_members")
def members():
    form = AddMemberForm()
    roles = services.roles_for(g.org.kind)
    form.role.choices = [(r, ROLE_LABELS[r]) for r in roles]
    if form.validate_on_submit():
        try:
            services.add_member(current_user, g.org, form.email.data, form.role.data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            flash(_("已添加成员。"), "success")
            return redirect(url_for("orgs.members"))
    return render_template(
        "orgs/members.html",
        org=g.org,
        form=form,
        members=services.members_of(g.org),
        roles=roles,
        action_form=FlaskForm(),
    )


@bp.route("/orgs/members/<int:membership_id>/role", methods=["POST"])
@org_required("org.manage_members")
def member_role(membership_id: int):
    form = RoleForm()
    form.role.choices = [(r, r) for r in services.roles_for(g.org.kind)]
    if not form.validate_on_submit():
        abort(400)
    try:
        services.change_role(current_user, g.org, membership_id, form.role.data)
    except (IllegalTransition, ValidationError) as exc:
        flash(exc.message, "danger")
    else:
        flash(_("角色已更新。"), "success")
    return redirect(url_for("orgs.members"))


@bp.route("/orgs/members/<int:membership_id>/remove", methods=["POST"])
@org_required("org.manage_members")
def member_remove(membership_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        services.remove_member(current_user, g.org, membership_id)
    except IllegalTransition as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已移除成员。"), "info")
    return redirect(url_for("orgs.members"))


@bp.route("/bureau/orgs")
@org_required("orgs.verify")
def review_queue():
    status = request.args.get("status", OrgStatus.PENDING)
    if status not in (*STATUS_LABELS, "all"):
        status = OrgStatus.PENDING
    search = request.args.get("q", "").strip()[:100]
    stmt = services.review_list(None if status == "all" else status, search)
    page = paginate(stmt, page_arg(), page_size())
    return render_template("orgs/review_queue.html", page=page, status=status, q=search)


@bp.route("/bureau/orgs/<int:org_id>")
@org_required("orgs.verify")
def review(org_id: int):
    org = services.get_org_for_review(current_user, g.org, org_id)
    return render_template(
        "orgs/review.html",
        org=org,
        reject_form=RejectForm(),
        verify_form=FlaskForm(),
        members=services.members_of(org),
    )


@bp.route("/bureau/orgs/<int:org_id>/verify", methods=["POST"])
@org_required("orgs.verify")
def verify(org_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        org = services.verify_org(current_user, g.org, org_id)
    except IllegalTransition as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已通过审核：%(name)s", name=org.name), "success")
    return redirect(url_for("orgs.review", org_id=org_id))


@bp.route("/bureau/orgs/<int:org_id>/reject", methods=["POST"])
@org_required("orgs.verify")
def reject(org_id: int):
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject_org(current_user, g.org, org_id, form.reason.data)
        except (IllegalTransition, ValidationError) as exc:
            flash(exc.message, "warning")
        else:
            flash(_("已驳回。"), "info")
    else:
        flash(_("请填写驳回理由"), "danger")
    return redirect(url_for("orgs.review", org_id=org_id))
