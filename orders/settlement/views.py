"""Settlement pages: the vendor's statements (list, print view, CSV/XLSX) and the
bureau's desk (issue a month's statements, mark one paid). Thin: each view calls one
service of ``orders.settlement.services``."""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from marketplace.authz import can, org_required
from marketplace.errors import DomainError, ValidationError
from marketplace.pagination import paginate
from marketplace.web import page_arg, page_size
from orders import bp
from orders.settlement import exports, services
from orders.settlement.forms import IssueForm, PaidForm

VIEW, MANAGE = services.VIEW, services.MANAGE


def _month_arg() -> date | None:
    raw = request.args.get("month", "")[:7]
    try:
        return date.fromisoformat(raw + "-01") if raw else None
    except ValueError:
        return None


# ---------------------------------------------------------------- vendor


def latest_statement_panel(user, org) -> Markup:
    """The vendor dashboard's panel: its latest settlement statement."""
    if not can(user, VIEW, org):
        return Markup("")
    return Markup(
        render_template(
            "orders/settlement/_today_statement.html",
            statement=services.latest_statement(org),
        )
    )


@bp.route("/vendor/settlement")
@org_required(VIEW)
def vendor_statements():
    page = paginate(services.vendor_statements(current_user, g.org), page_arg(), page_size())
    return render_template("orders/settlement/vendor_list.html", page=page)


def _vendor_statement(statement_id: int):
    return services.vendor_statement(current_user, g.org, statement_id)


@bp.route("/vendor/settlement/<bigint:statement_id>")
@org_required(VIEW)
def vendor_statement(statement_id: int):
    statement = _vendor_statement(statement_id)
    return render_template(
        "orders/settlement/statement.html",
        statement=statement,
        details=services.statement_details(statement),
        kind_label=exports.kind_label,
        period=exports.period_label(statement),
    )


@bp.route("/vendor/settlement/<bigint:statement_id>.<any(csv, xlsx):fmt>")
@org_required(VIEW)
def vendor_statement_file(statement_id: int, fmt: str):
    return exports.statement_file(_vendor_statement(statement_id), fmt)


# ---------------------------------------------------------------- bureau


@bp.route("/bureau/settlement")
@org_required(MANAGE)
def bureau_statements(form: IssueForm | None = None, code: int = 200):
    month = _month_arg()
    page = paginate(services.bureau_statements(current_user, g.org, month), page_arg(), page_size())
    return render_template(
        "orders/settlement/bureau_list.html",
        page=page,
        month=month,
        form=form or IssueForm(),
        fee_rate=services.fee_rate_bp() / 100,
    ), code


@bp.route("/bureau/settlement/issue", methods=["POST"])
@org_required(MANAGE)
def bureau_issue():
    form = IssueForm()
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return bureau_statements(form, 400)
    month = date.fromisoformat(form.month.data + "-01")
    try:
        issued = services.issue_month(current_user, g.org, month)
    except DomainError as exc:
        flash(exc.message, "danger")
        return bureau_statements(form, 400)
    flash(_("已出具 %(n)d 份结算单。", n=len(issued)), "success")
    return redirect(url_for("orders.bureau_statements", month=form.month.data))


def _bureau_page(statement_id: int, form: PaidForm | None = None, code: int = 200):
    statement = services.bureau_statement(current_user, g.org, statement_id)
    return render_template(
        "orders/settlement/statement.html",
        statement=statement,
        details=services.statement_details(statement),
        kind_label=exports.kind_label,
        period=exports.period_label(statement),
        paid_form=form or PaidForm(),
        bureau=True,
    ), code


@bp.route("/bureau/settlement/<bigint:statement_id>")
@org_required(MANAGE)
def bureau_statement(statement_id: int):
    return _bureau_page(statement_id)


@bp.route("/bureau/settlement/<bigint:statement_id>.<any(csv, xlsx):fmt>")
@org_required(MANAGE)
def bureau_statement_file(statement_id: int, fmt: str):
    statement = services.bureau_statement(current_user, g.org, statement_id)
    return exports.statement_file(statement, fmt)


@bp.route("/bureau/settlement/<bigint:statement_id>/paid", methods=["POST"])
@org_required(MANAGE)
def bureau_mark_paid(statement_id: int):
    form = PaidForm()
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return _bureau_page(statement_id, form, 400)
    try:
        services.mark_paid(current_user, g.org, statement_id, form.bank_ref.data, form.paid_on.data)
    except ValidationError as exc:
        flash(exc.message, "danger")
        return _bureau_page(statement_id, form, 400)
    except DomainError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已记录付款。"), "success")
    return redirect(url_for("orders.bureau_statement", statement_id=statement_id))
