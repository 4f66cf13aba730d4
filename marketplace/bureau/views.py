from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import registries
from ..authz import can, org_required
from ..errors import ValidationError
from ..importing import ImportFailed, run_import
from ..pagination import paginate
from ..publication import personal_data
from ..web import id_arg, page_arg, page_size
from . import bp, services
from .forms import RISK_LABELS, STATUS_LABELS, HouseholdEditForm, ImportForm


@bp.app_context_processor
def labels():
    return {"HOUSEHOLD_STATUS": STATUS_LABELS, "RISK_LABELS": RISK_LABELS}


@bp.route("/households")
@personal_data
@org_required("households.view")
def households():
    filters = services.HouseholdFilters(
        q=request.args.get("q", "").strip()[:50],
        district_id=id_arg("district"),
        town_id=id_arg("town"),
        village_id=id_arg("village"),
        status=request.args.get("status") or None,
        risk_light=request.args.get("risk") or None,
    )
    stmt = services.household_list(current_user, g.org, filters)
    page = paginate(stmt, page_arg(), page_size())
    return render_template(
        "bureau/households.html", page=page, filters=filters, districts=services.places()
    )


@bp.route("/households/<int:household_id>", methods=["GET", "POST"])
@personal_data
@org_required("households.view")
def household(household_id: int):
    household = services.get_household(current_user, g.org, household_id)
    form = HouseholdEditForm(obj=household)
    if form.validate_on_submit():
        try:
            services.update_household(
                current_user,
                g.org,
                household.id,
                status=form.status.data,
                risk_light=form.risk_light.data,
                reason=form.reason.data,
            )
        except ValidationError as exc:
            flash(exc.message, "danger")
        else:
            flash(_("已保存。"), "success")
            return redirect(url_for("bureau.household", household_id=household.id))
    return render_template(
        "bureau/household.html",
        household=household,
        form=form,
        history=services.household_history(household),
        can_edit=can(current_user, "households.edit", g.org),
    )


@bp.route("/imports", methods=["GET", "POST"])
@personal_data
@org_required("imports.run")
def imports():
    importers = registries.importers.get()
    form = ImportForm()
    form.kind.choices = [(name, str(cls.title)) for name, cls in importers.items()]
    summary = errors = None
    if form.validate_on_submit():
        importer = importers[form.kind.data](current_user)
        try:
            summary = run_import(
                importer,
                form.file.data.read(),
                encoding=form.encoding.data or None,
                dry_run=form.dry_run.data,
            )
        except ImportFailed as failed:
            errors = failed.errors
            flash(failed.message, "danger")
        else:
            flash(_("导入完成：%(line)s", line=summary.line()), "success")
    return render_template(
        "bureau/imports.html", form=form, summary=summary, errors=errors, importers=importers
    )


@bp.route("/audit")
@personal_data
@org_required("audit.view")
def audit_log():
    action = request.args.get("action", "").strip()[:60]
    actor_q = request.args.get("actor", "").strip()[:100]
    stmt = services.audit_list(current_user, g.org, action=action, actor_q=actor_q)
    page = paginate(stmt, page_arg(), 50)
    return render_template("bureau/audit.html", page=page, action=action, actor=actor_q)
