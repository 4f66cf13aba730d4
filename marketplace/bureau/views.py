from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import registries, tabular
from ..authz import can, org_required
from ..clock import day_end_utc, day_start_utc
from ..errors import ValidationError
from ..extensions import db
from ..importing import template_xlsx, upload
from ..pagination import paginate
from ..publication import personal_data
from ..web import date_arg, id_arg, page_arg, page_size
from . import audit_display, bp, services
from .forms import RISK_LABELS, STATUS_LABELS, HouseholdEditForm, ImportForm

AUDIT_EXPORT_LIMIT = 100_000


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
        summary, errors = upload(
            importers[form.kind.data](current_user),
            form.file.data.read(),
            encoding=form.encoding.data or None,
            dry_run=form.dry_run.data,
        )
    return render_template(
        "bureau/imports.html", form=form, summary=summary, errors=errors, importers=importers
    )


@bp.route("/imports/template/<name>.xlsx")
@org_required("imports.run")
def import_template(name: str):
    importer = registries.importers.get().get(name)
    if importer is None:
        abort(404)
    return tabular.attachment(
        template_xlsx(importer),
        tabular.XLSX_MIMETYPE,
        _("导入模板_%(name)s.xlsx", name=importer.title),
    )


def _audit_filters() -> tuple[services.AuditFilters, dict]:
    """Filters from the query string, and the values to show back in the form."""
    start, end = date_arg("from"), date_arg("to")
    shown = {
        "action": request.args.get("action", "").strip()[:60],
        "actor": request.args.get("actor", "").strip()[:100],
        "object_type": request.args.get("object_type", "").strip()[:40],
        "object_id": request.args.get("object_id", "").strip()[:60],
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    filters = services.AuditFilters(
        action=shown["action"],
        actor_q=shown["actor"],
        object_type=shown["object_type"],
        object_id=shown["object_id"],
        start=day_start_utc(start) if start else None,
        end=day_end_utc(end) if end else None,
    )
    return filters, shown


@bp.route("/audit")
@personal_data
@org_required("audit.view")
def audit_log():
    filters, shown = _audit_filters()
    page = paginate(services.audit_list(current_user, g.org, filters), page_arg(), 50)
    return render_template(
        "bureau/audit.html",
        page=page,
        shown=shown,
        export_args={k: v for k, v in shown.items() if v},
        action_labels=audit_display.ACTION_LABELS,
        object_labels=audit_display.OBJECT_LABELS,
        action_label=audit_display.action_label,
        object_label=audit_display.object_label,
        change_lines=audit_display.change_lines,
    )


@bp.route("/audit/export.<any(csv, xlsx):fmt>")
@personal_data
@org_required("audit.view")
def audit_export(fmt: str):
    filters, _shown = _audit_filters()
    stmt = services.audit_list(current_user, g.org, filters).limit(AUDIT_EXPORT_LIMIT)
    rows = (audit_display.entry_row(e) for e in db.session.scalars(stmt))
    header = audit_display.export_header()
    start, end = date_arg("from"), date_arg("to")
    report = _("操作日志")
    name = tabular.file_name(report, fmt, start, end)
    if fmt == "xlsx":
        heading = f"{report}（{tabular.period_label(start, end)}）"
        body = tabular.to_xlsx(report, header, rows, heading=heading)
        return tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    return tabular.attachment(tabular.to_csv(header, rows), tabular.CSV_MIMETYPE, name)
