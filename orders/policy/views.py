"""The bureau's reward pages (乡村振兴局 › 奖补): the rules in force, the household list
and the vendor list of a year (export, approve), a vendor's statement (print, export),
and the assessed incomes. Household codes are bureau-only: every page needs
``rewards.manage`` in the bureau. Thin: each view calls one service."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.authz import org_required
from marketplace.clock import local_today
from marketplace.errors import DomainError, ValidationError
from marketplace.money import format_fen_grouped
from marketplace.pagination import paginate
from marketplace.publication import personal_data
from marketplace.web import form_errors, page_arg, page_size
from orders import bp
from orders.policy import assessments, exports, lists, rewards, vendor_rewards
from orders.policy.forms import ApproveListForm, AssessmentForm
from orders.policy.lists import MANAGE
from orders.policy.rules import Rules


def _year_arg() -> int:
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else lists.default_year()


def _path_year(year: int) -> int:
    """A year named in the URL: one the rewards can cover, else there is no such page."""
    if not lists.FIRST_YEAR <= year <= local_today().year:
        abort(404)
    return year


@bp.route("/bureau/rewards")
@org_required(MANAGE)
def rewards_home():
    year = _year_arg()
    return render_template(
        "orders/policy/home.html",
        rules=Rules.configured(),
        year=year,
        households_list=lists.approved_list(rewards.KIND, year),
        vendors_list=lists.approved_list(vendor_rewards.KIND, year),
        assessed=assessments.assessed_count(year),
    )


# ---------------------------------------------------------------- households


@bp.route("/bureau/rewards/households")
@personal_data
@org_required(MANAGE)
def reward_households():
    year = _year_arg()
    try:
        result = rewards.household_list(current_user, g.org, year)
    except ValidationError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("orders.reward_households"))
    return render_template(
        "orders/policy/households.html",
        result=result,
        ended=lists.year_ended(result.year),
        page=lists.page_of(result.rows, page_arg(), page_size()),
        source_label=exports.source_label,
    )


@bp.route("/bureau/rewards/households/<int:year>.<any(csv, xlsx):fmt>")
@personal_data
@org_required(MANAGE)
def reward_households_file(year: int, fmt: str):
    year = _path_year(year)
    return exports.households_file(rewards.household_list(current_user, g.org, year), fmt)


def _approve_page(kind: str, year: int, form: ApproveListForm | None = None, code: int = 200):
    service = rewards.household_list if kind == "households" else vendor_rewards.vendor_list
    result = service(current_user, g.org, year)
    form = form or ApproveListForm(count=result.count, payable=result.payable)
    return render_template(
        "orders/policy/approve.html",
        kind=kind,
        result=result,
        form=form,
        ended=lists.year_ended(year),
    ), code


@bp.route("/bureau/rewards/<any(households, vendors):kind>/<int:year>/approve")
@org_required(MANAGE)
def reward_approve_confirm(kind: str, year: int):
    year = _path_year(year)
    return _approve_page(kind, year)


@bp.route("/bureau/rewards/<any(households, vendors):kind>/<int:year>/approve", methods=["POST"])
@org_required(MANAGE)
def reward_approve(kind: str, year: int):
    year = _path_year(year)
    form = ApproveListForm()
    endpoint = "orders.reward_households" if kind == "households" else "orders.reward_vendors"
    if not form.validate_on_submit():
        flash(_("请从确认页面批准名单。"), "danger")
        return _approve_page(kind, year, None, 400)
    service = rewards.approve_households if kind == "households" else vendor_rewards.approve_vendors
    try:
        approved = service(current_user, g.org, year, form.expected())
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for(endpoint, year=year))
    if kind == "households":
        message = _(
            "已批准 %(y)d 年度农户产业奖补名单：%(n)d 户次，应发 %(m)s 元。名单已冻结。",
            y=year,
            n=approved.count,
            m=format_fen_grouped(approved.payable),
        )
    else:
        message = _(
            "已批准 %(y)d 年度经营主体奖补名单：%(n)d 家，应发 %(m)s 元。名单已冻结。",
            y=year,
            n=approved.count,
            m=format_fen_grouped(approved.payable),
        )
    flash(message, "success")
    return redirect(url_for(endpoint, year=year))


# ---------------------------------------------------------------- vendors


@bp.route("/bureau/rewards/vendors")
@org_required(MANAGE)
def reward_vendors():
    year = _year_arg()
    try:
        result = vendor_rewards.vendor_list(current_user, g.org, year)
    except ValidationError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("orders.reward_vendors"))
    return render_template(
        "orders/policy/vendors.html",
        result=result,
        ended=lists.year_ended(result.year),
        page=lists.page_of(result.rows, page_arg(), page_size()),
    )


@bp.route("/bureau/rewards/vendors/<int:year>.<any(csv, xlsx):fmt>")
@org_required(MANAGE)
def reward_vendors_file(year: int, fmt: str):
    year = _path_year(year)
    return exports.vendors_file(vendor_rewards.vendor_list(current_user, g.org, year), fmt)


@bp.route("/bureau/rewards/vendors/<int:year>/<int:vendor_id>")
@org_required(MANAGE)
def reward_vendor_statement(year: int, vendor_id: int):
    year = _path_year(year)
    statement = vendor_rewards.vendor_statement(current_user, g.org, year, vendor_id)
    return render_template("orders/policy/statement.html", statement=statement)


@bp.route("/bureau/rewards/vendors/<int:year>/<int:vendor_id>.<any(csv, xlsx):fmt>")
@org_required(MANAGE)
def reward_vendor_statement_file(year: int, vendor_id: int, fmt: str):
    year = _path_year(year)
    statement = vendor_rewards.vendor_statement(current_user, g.org, year, vendor_id)
    return exports.statement_file(statement, fmt)


# ---------------------------------------------------------------- assessments


def _assessments_page(form: AssessmentForm | None = None, code: int = 200):
    year = _year_arg()
    household_code = request.args.get("code", "").strip()[:50] or None
    query = assessments.assessments(current_user, g.org, year, household_code)
    return render_template(
        "orders/policy/assessments.html",
        year=year,
        household_code=household_code,
        page=paginate(query, page_arg(), page_size()),
        form=form or AssessmentForm(year=year),
    ), code


@bp.route("/bureau/rewards/assessments")
@personal_data
@org_required(MANAGE)
def reward_assessments():
    return _assessments_page()


@bp.route("/bureau/rewards/assessments", methods=["POST"])
@personal_data
@org_required(MANAGE)
def reward_assess():
    form = AssessmentForm()
    if not form.validate_on_submit():
        return _assessments_page(form, 400)
    try:
        assessments.record_assessment(
            current_user,
            g.org,
            household_code=form.household_code.data.strip(),
            year=form.year.data,
            net_income=form.net_income.fen,
            assessed_by=(form.assessed_by.data or "").strip(),
            note=(form.note.data or "").strip(),
        )
    except ValidationError as exc:
        form_errors(form, exc)
        return _assessments_page(form, 400)
    flash(
        _(
            "已记录 %(code)s 的 %(y)d 年度农业纯收入。",
            code=form.household_code.data,
            y=form.year.data,
        ),
        "success",
    )
    return redirect(url_for("orders.reward_assessments", year=form.year.data))
