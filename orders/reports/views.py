"""Report pages: the bureau's dashboard with breakdowns and exports, one household's
benefits, the public impact page and the home page's impact counter.

Views parse the period, call the breakdown functions (SQL aggregations) and render the
same ``Table`` objects the CSV and XLSX exports write. The dashboard's figures, /impact
and the home counter are the same for every reader: cached per period, and dropped once
a change to what they read commits (``orders.reports.freshness``). What the dashboard
reads over the months before the current one (order counts, months, shipping fees, the
top lists' amounts: ``MonthlyParts``) is cached apart, dropped only by a write dated in
those months: after today's sale only the current month is read afresh."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Response, abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from marketplace import tabular
from marketplace.authz import active_org, can, org_required
from marketplace.bureau.services import get_household
from marketplace.chrome import visitor_page
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.fragments import TIMEOUT, cached, fragment
from marketplace.i18n import select_locale
from marketplace.models import District, Town
from marketplace.publication import MIN_GROUP, personal_data
from marketplace.web import id_arg, page_arg, page_size
from orders import bp
from orders.ledger.rollup import CLOSED_AREA, closed_before
from orders.ledger.services import SALES_AREA
from orders.reports import breakdowns, charts, exports, households, public
from orders.reports.breakdowns import DIMENSIONS, Period
from orders.reports.fairs import FairSeason, fair_season
from orders.reports.freshness import REPORTS_AREA
from orders.reports.shipping import online_shipping, online_shipping_by_month
from orders.reports.source import materialized, without_jit
from orders.reports.summary import SummaryFigures, order_counts, summary

DASHBOARD_TOP = 10
# the closed months' figures change only by a write dated in them, which drops them
# (orders.reports.freshness): kept an hour rather than a minute, which bounds what a
# write past the app (raw SQL) can leave unseen
CLOSED_TIMEOUT = 3600  # seconds
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PeriodError(ValueError):
    pass


def _parse_date(raw: str, label: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    if not _DATE.fullmatch(raw):
        raise PeriodError(_("%(label)s格式应为 YYYY-MM-DD，例如 2024-01-31。", label=label))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PeriodError(_("%(label)s不是有效的日期：%(value)s", label=label, value=raw)) from None


def parse_period(args) -> Period:
    """The ?from=&to= period (both optional, inclusive); PeriodError with a message the
    user can act on for anything else."""
    date_from = _parse_date(args.get("from", "")[:20], _("开始日期"))
    date_to = _parse_date(args.get("to", "")[:20], _("结束日期"))
    if date_from and date_to and date_from > date_to:
        raise PeriodError(_("开始日期不能晚于结束日期。"))
    return Period(date_from, date_to)


def period_presets(today: date | None = None) -> list[tuple[str, dict]]:
    today = today or local_today()
    return [
        (_("今年"), {"from": f"{today.year}-01-01", "to": f"{today.year}-12-31"}),
        (_("去年"), {"from": f"{today.year - 1}-01-01", "to": f"{today.year - 1}-12-31"}),
        (_("全部"), {}),
    ]


def _period_args(period: Period) -> dict:
    args = {}
    if period.date_from:
        args["from"] = period.date_from.isoformat()
    if period.date_to:
        args["to"] = period.date_to.isoformat()
    return args


def _render_period_error(message: str, template: str = "orders/reports/period_error.html"):
    return render_template(
        template, error=message, period=Period(), presets=period_presets(), period_args={}
    ), 400


def _context(period: Period, **extra) -> dict:
    return {
        "period": period,
        "period_args": _period_args(period),
        "presets": period_presets(),
        "dimensions": list(DIMENSIONS),
        "dimension_title": exports.dimension_title,
        **extra,
    }


def _geo(period: Period) -> breakdowns.GeoLevel:
    district_id, town_id = id_arg("district"), id_arg("town")
    if town_id and db.session.get(Town, town_id) is None:
        abort(404)
    if district_id and db.session.get(District, district_id) is None:
        abort(404)
    return breakdowns.geography(period, district_id, town_id)


def _geo_table(period: Period, geo: breakdowns.GeoLevel) -> exports.Table:
    args = _period_args(period)

    def child(row_id):
        if row_id is None:
            return None
        if geo.level == "district":
            return url_for("orders.reports_dashboard", district=row_id, **args) + "#geo"
        return url_for("orders.reports_dashboard", town=row_id, **args) + "#geo"

    return exports.geo_table(geo, child)


def _geo_export_args(period: Period, geo: breakdowns.GeoLevel) -> dict:
    args = {**_period_args(period), "name": "geo"}
    if geo.town is not None:
        args["town"] = geo.town.id
    elif geo.district is not None:
        args["district"] = geo.district.id
    return args


def _household_url(household_id: int) -> str:
    return url_for("orders.household_benefits", household_id=household_id)


@dataclass
class DashboardFigures:
    """What the dashboard computes from the ledger for a period and place level: plain
    values (cached between requests, see ``reports_dashboard``)."""

    summary: SummaryFigures
    season: FairSeason
    shipping_by_month: dict[str, int]
    months: list[breakdowns.MonthRow]
    geo_rows: list[breakdowns.GeoRow]
    geo_unattributed: int
    tops: dict[str, list[breakdowns.DimRow]]
    channels_chart: Markup
    monthly_chart: Markup

    @property
    def shipping(self) -> int:
        return sum(self.shipping_by_month.values())


@dataclass
class MonthlyParts:
    """The dashboard's figures that add up over months: order counts per channel,
    net sales per (year, month, channel), shipping fees per month and the amount per
    key of the id breakdowns (which rank their top lists)."""

    counts: dict[str, int]
    cells: dict[tuple[int, int, str], int]
    shipping_by_month: dict[str, int]
    amounts: dict[str, dict[int, int]]

    def __add__(self, other: MonthlyParts) -> MonthlyParts:
        # the two parts' months never overlap
        return MonthlyParts(
            _added(self.counts, other.counts),
            {**self.cells, **other.cells},
            {**self.shipping_by_month, **other.shipping_by_month},
            {name: _added(self.amounts[name], other.amounts[name]) for name in self.amounts},
        )


def _added(one: dict, other: dict) -> dict:
    result = dict(one)
    for key, value in other.items():
        result[key] = result.get(key, 0) + value
    return result


def monthly_parts(period: Period) -> MonthlyParts:
    return MonthlyParts(
        order_counts(period.date_from, period.date_to),
        breakdowns.monthly_cells(period),
        online_shipping_by_month(period.date_from, period.date_to),
        {name: breakdowns.key_amounts(name, period) for name in breakdowns.ID_DIMENSIONS},
    )


def split_monthly_parts(period: Period) -> MonthlyParts:
    """``monthly_parts(period)``: the months before the current one from the cache
    (``CLOSED_AREA``, dropped only by a write dated in them), the current month and
    after computed afresh (a month's rows: small)."""
    start = closed_before()
    if period.date_from is not None and period.date_from >= start:
        return monthly_parts(period)  # no closed month
    closed_to = start - timedelta(days=1)
    if period.date_to is not None and period.date_to < start:
        closed_to = period.date_to  # no live month
    closed = Period(period.date_from, closed_to)
    key = f"dashboard-closed:{start.isoformat()}:{closed.date_from or ''}:{closed.date_to}"
    parts = cached(CLOSED_AREA, key, lambda: monthly_parts(closed), CLOSED_TIMEOUT)
    if closed_to == period.date_to:
        return parts
    return parts + monthly_parts(Period(start, period.date_to))


def dashboard_figures(period: Period, district_id: int | None, town_id: int | None):
    without_jit()
    parts = split_monthly_parts(period)
    # a period cutting months: its rows are read once into a table every figure reads
    with materialized(period):
        return _dashboard_figures(period, district_id, town_id, parts)


def _dashboard_figures(
    period: Period, district_id: int | None, town_id: int | None, parts: MonthlyParts
):
    s = summary(period.date_from, period.date_to, counts=parts.counts)
    months = breakdowns.month_rows(parts.cells)
    geo = breakdowns.geography(period, district_id, town_id)
    return DashboardFigures(
        summary=s,
        season=fair_season(period.date_from, period.date_to, s, list_fairs=False),
        shipping_by_month=parts.shipping_by_month,
        months=months,
        geo_rows=geo.rows,
        geo_unattributed=geo.unattributed,
        tops={
            name: breakdowns.dimension_rows(
                name,
                period,
                limit=DASHBOARD_TOP,
                keys=(
                    breakdowns.top_keys(parts.amounts[name], DASHBOARD_TOP)
                    if name in parts.amounts
                    else None
                ),
            )
            for name in DIMENSIONS
        },
        channels_chart=charts.channels_chart(s),
        monthly_chart=charts.monthly_chart(months),
    )


@bp.route("/bureau/reports")
@org_required("reports.view")
def reports_dashboard():
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    district_id, town_id = id_arg("district"), id_arg("town")
    town = db.session.get(Town, town_id) if town_id else None
    district = db.session.get(District, district_id) if district_id else None
    if (town_id and town is None) or (district_id and district is None):
        abort(404)
    # the same for every bureau user: computed once per period, place and day, until a
    # change to what it reads commits (orders.reports.freshness bumps the area)
    key = ":".join(
        str(part or "")
        for part in (
            "dashboard",
            select_locale(),
            local_today().isoformat(),
            period.date_from,
            period.date_to,
            district_id,
            town_id,
        )
    )
    # a period ending before the current month: only a write dated in it (or to what
    # its rows are joined to) changes it, never today's sales
    closed = period.date_to is not None and period.date_to < closed_before()
    f = cached(
        CLOSED_AREA if closed else REPORTS_AREA,
        key,
        lambda: dashboard_figures(period, district_id, town_id),
        CLOSED_TIMEOUT if closed else TIMEOUT,
    )
    if town is not None:
        geo = breakdowns.GeoLevel("village", town.district, town)
    elif district is not None:
        geo = breakdowns.GeoLevel("town", district, None)
    else:
        geo = breakdowns.GeoLevel("district", None, None)
    geo.rows, geo.unattributed = f.geo_rows, f.geo_unattributed
    s, shipping = f.summary, f.shipping
    return render_template(
        "orders/reports/dashboard.html",
        **_context(
            period,
            summary=s,
            season=f.season,
            summary_table=exports.summary_table(s),
            channels_table=exports.channels_table(s, shipping),
            online_shipping=shipping,
            channels_chart=f.channels_chart,
            monthly_table=exports.monthly_table(f.months, f.shipping_by_month),
            monthly_chart=f.monthly_chart,
            geo=geo,
            geo_table=_geo_table(period, geo),
            geo_export_args=_geo_export_args(period, geo),
            tops={name: exports.dimension_table(name, rows) for name, rows in f.tops.items()},
            top_n=DASHBOARD_TOP,
        ),
    )


@bp.route("/bureau/reports/<any(vendor, product, fair, agency, counter):name>")
@org_required("reports.view")
def reports_dimension(name: str):
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    page = breakdowns.dimension_page(name, period, page_arg(), page_size())
    table = exports.dimension_table(name, page.items, page=page)
    return render_template(
        "orders/reports/dimension.html", **_context(period, name=name, table=table, page=page)
    )


@bp.route("/bureau/reports/households")
@personal_data
@org_required("households.view")
def reports_households():
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    page = households.households_page(period, page_arg(), page_size())
    table = exports.households_table(page.items, page=page, url=_household_url)
    return render_template(
        "orders/reports/households.html", **_context(period, table=table, page=page)
    )


@bp.route("/bureau/households/<int:household_id>/benefits")
@personal_data
@org_required("households.view")
def household_benefits(household_id: int):
    household = get_household(current_user, g.org, household_id)
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    products = households.household_products(household.id, period)
    page = households.household_months_page(household.id, period, page_arg(), page_size())
    return render_template(
        "orders/reports/household.html",
        **_context(
            period,
            household=household,
            products_table=exports.household_products_table(products),
            months_table=exports.household_months_table(page.items, page=page),
            chart=charts.household_chart(households.household_months(household.id, period)),
        ),
    )


def _export_table(name: str, period: Period) -> exports.Table:
    """The table ``name`` with every row (the page may show one page of it)."""
    if name in ("summary", "channels"):
        s = summary(period.date_from, period.date_to)
        if name == "summary":
            return exports.summary_table(s)
        return exports.channels_table(s, online_shipping(period.date_from, period.date_to))
    if name == "monthly":
        return exports.monthly_table(
            breakdowns.monthly_by_channel(period),
            online_shipping_by_month(period.date_from, period.date_to),
        )
    if name == "geo":
        return _geo_table(period, _geo(period))
    if name in DIMENSIONS:
        return exports.dimension_table(name, breakdowns.dimension_rows(name, period))
    if name == "households":
        return exports.households_table(households.households_rows(period))
    abort(404)


def _download(table: exports.Table, fmt: str, period: Period, subject: str = "") -> Response:
    """The table as a file named for the report and its period (``销售汇总_2026年3月.xlsx``);
    the XLSX opens with a heading row saying the same."""
    report = f"{subject}{table.title}" if subject else table.title
    label = tabular.period_label(period.date_from, period.date_to)
    name = tabular.file_name(report, fmt, period.date_from, period.date_to)
    if fmt == "xlsx":
        body = exports.to_xlsx(table, heading=f"{report}（{label}）")
        return tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    return tabular.attachment(exports.to_csv(table), tabular.CSV_MIMETYPE, name)


@bp.route("/bureau/reports/export/<name>.<any(csv, xlsx):fmt>")
@personal_data
@org_required("reports.view")
def reports_export(name: str, fmt: str):
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    if name == "households" and not can(current_user, "households.view", active_org()):
        abort(403)
    table = _export_table(name, period)
    return _download(table, fmt, period)


@bp.route(
    "/bureau/households/<int:household_id>/benefits/<any(products, months):name>"
    ".<any(csv, xlsx):fmt>"
)
@personal_data
@org_required("households.view")
def household_benefits_export(household_id: int, name: str, fmt: str):
    household = get_household(current_user, g.org, household_id)
    try:
        period = parse_period(request.args)
    except PeriodError as exc:
        return _render_period_error(str(exc))
    if name == "products":
        table = exports.household_products_table(
            households.household_products(household.id, period)
        )
    else:
        table = exports.household_months_table(households.household_months(household.id, period))
    return _download(table, fmt, period, subject=f"{household.code}_")


@bp.route("/reports/charts.css")
def chart_css():
    response = Response(charts.chart_stylesheet(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/impact")
def impact():
    """Public: aggregates only, published through the kernel (no group of fewer than
    three households, not even by subtraction), no names."""

    def render() -> str:
        figures = public.impact()
        return render_template(
            "orders/reports/_impact_body.html",
            impact=figures,
            chart=charts.impact_chart(figures.years),
            channel_label=exports.channel_label,
            min_group=MIN_GROUP,
        )

    # the same for everyone: the page's body, until a sale or refund commits; for a
    # visitor without a session the whole page (marketplace.chrome)
    key = f"impact:{select_locale()}:{local_today().isoformat()}"

    def page() -> str:
        body = fragment(SALES_AREA, key, render)
        return render_template("orders/reports/impact.html", body=body)

    return visitor_page((SALES_AREA,), key, page, url_for("orders.impact"))


def vendor_month_panel(user, org) -> Markup:
    """The vendor dashboard's panel: this month's sales and households driven."""
    if not can(user, "products.manage", org):
        return Markup("")
    today = local_today()
    figures = public.vendor_period(org.id, Period(today.replace(day=1), today))
    return Markup(render_template("orders/vendor/_today_month.html", figures=figures))


def impact_section() -> Markup:
    """The home page's impact counter."""
    return fragment(
        SALES_AREA,
        f"headline:{select_locale()}:{local_today().isoformat()}",
        lambda: render_template("orders/_impact.html", figures=public.headline()),
    )
