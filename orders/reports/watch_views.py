"""The at-risk watch pages (bureau only; household names, so never stored by a browser):
the list with its filters and exports, and one household's linked products and the
vendors who could link it. Queries in orders/reports/watch.py."""

from __future__ import annotations

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace import tabular
from marketplace.authz import org_required
from marketplace.bureau.services import get_household
from marketplace.clock import local_today
from marketplace.pagination import Page
from marketplace.publication import personal_data
from marketplace.web import id_arg, page_arg, page_size
from orders import bp
from orders.reports import exports, watch
from orders.reports.exports import FEN, INT, ReportColumn, Table

LIGHT_LABELS = {"red": _l("红灯"), "yellow": _l("黄灯"), "green": _l("绿灯")}
TREND_LABELS = {
    watch.NONE: _l("今年尚无收入"),
    watch.FALLING: _l("收入下降"),
    watch.STEADY: _l("持平或增长"),
}


def _filters() -> watch.WatchFilters:
    light = request.args.get("light", "")
    return watch.WatchFilters(
        light=light if light in watch.AT_RISK else None, town_id=id_arg("town")
    )


def _filter_args(filters: watch.WatchFilters) -> dict:
    args = {}
    if filters.light:
        args["light"] = filters.light
    if filters.town_id:
        args["town"] = filters.town_id
    return args


def watch_table(rows: list[watch.WatchRow], page: Page | None = None, url=None) -> Table:
    """The watch as a report table: the page and both exports read it."""
    year = local_today().year
    columns = [
        ReportColumn("code", _("户编码")),
        ReportColumn("head_name", _("户主")),
        ReportColumn("light", _("风险灯")),
        ReportColumn("place", _("所在村")),
        ReportColumn("members", _("人口"), INT),
        ReportColumn("this_year", _("%(year)d年归属收入（元）", year=year), FEN),
        ReportColumn("last_to_date", _("%(year)d年同期（元）", year=year - 1), FEN),
        ReportColumn("last_year", _("%(year)d年全年（元）", year=year - 1), FEN),
        ReportColumn("trend", _("趋势")),
    ]
    data = []
    for r in rows:
        row = {
            "code": r.code,
            "head_name": r.head_name,
            "light": str(LIGHT_LABELS.get(r.light, r.light)),
            "place": r.place,
            "members": r.members,
            "this_year": r.this_year,
            "last_to_date": r.last_to_date,
            "last_year": r.last_year,
            "trend": str(TREND_LABELS[r.trend]),
            "_trend": r.trend,
            "_light": r.light,
        }
        if url:
            row["_url"] = url(r.id)
        data.append(row)
    return Table("watch", _("防返贫监测户"), columns, data, page=page)


def _household_url(household_id: int) -> str:
    return url_for("orders.watch_household", household_id=household_id)


@bp.route("/bureau/watch")
@personal_data
@org_required("households.view")
def watch_list():
    filters = _filters()
    today = local_today()
    page = watch.watch_page(filters, today, page_arg(), page_size())
    return render_template(
        "orders/reports/watch.html",
        table=watch_table(page.items, page, _household_url),
        page=page,
        filters=filters,
        filter_args=_filter_args(filters),
        towns=watch.watch_towns(),
        light_labels=LIGHT_LABELS,
    )


@bp.route("/bureau/watch/export.<any(csv, xlsx):fmt>")
@personal_data
@org_required("households.view")
def watch_export(fmt: str):
    filters = _filters()
    today = local_today()
    table = watch_table(watch.watch_rows(filters, today))
    start = today.replace(month=1, day=1)
    name = tabular.file_name(table.title, fmt, start, today)
    if fmt == "xlsx":
        heading = f"{table.title}（{tabular.period_label(start, today)}）"
        return tabular.attachment(
            exports.to_xlsx(table, heading=heading), tabular.XLSX_MIMETYPE, name
        )
    return tabular.attachment(exports.to_csv(table), tabular.CSV_MIMETYPE, name)


@bp.route("/bureau/watch/<int:household_id>")
@personal_data
@org_required("households.view")
def watch_household(household_id: int):
    household = get_household(current_user, g.org, household_id)
    today = local_today()
    return render_template(
        "orders/reports/watch_household.html",
        household=household,
        income=watch.household_income(household.id, today),
        linked=watch.linked_products(household.id, today),
        candidates=watch.candidate_vendors(household.id, today),
        light_labels=LIGHT_LABELS,
        trend_labels=TREND_LABELS,
        year=today.year,
    )
