"""`flask report summary [--from DATE] [--to DATE] [--format table|json]`, `flask report fairs`
(same options) (docs/formats.md);
`flask report rebuild-rollup`; `flask orders expire` (run it from cron every 5 minutes)."""

from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import AppGroup

from marketplace.money import format_fen_grouped
from orders.reports.fairs import FairSeason, fair_season
from orders.reports.summary import CHANNELS, SummaryFigures, summary
from orders.shop.expiry import expire_orders
from orders.shop.refunds import settle_refunds

report_cli = AppGroup("report", help="Reports over the sales ledger.")

CHANNEL_LABELS = {
    "online": "线上 online",
    "fair": "集市 fair",
    "procurement": "采购 procurement",
    "counter": "专柜 counter",
}


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def period_report(name: str, compute, table, help_: str) -> None:
    """A `report NAME [--from DATE] [--to DATE] [--format table|json]` command: the
    period's result as JSON (the contract) or as a table for people."""

    @report_cli.command(name, help=help_)
    @click.option("--from", "date_from", callback=_date, help="First date, YYYY-MM-DD.")
    @click.option("--to", "date_to", callback=_date, help="Last date, YYYY-MM-DD.")
    @click.option(
        "--format",
        "format_",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
    )
    def command(date_from: date | None, date_to: date | None, format_: str) -> None:
        if date_from and date_to and date_from > date_to:
            raise click.BadParameter("--from must not be after --to", param_hint="'--from'")
        result = compute(date_from, date_to)
        if format_ == "json":
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            click.echo(table(result))


def summary_table(result: SummaryFigures) -> str:
    data = result.to_json()
    lines = [
        f"消费帮扶汇总 / Summary  {data['from'] or '-'} ~ {data['to'] or '-'}",
        "",
        f"{'渠道 channel':<20}{'订单 orders':>12}{'金额 amount (元)':>22}",
    ]
    for name in CHANNELS:
        figures = result.channels[name]
        lines.append(
            f"{CHANNEL_LABELS[name]:<20}{figures.orders:>12,}"
            f"{format_fen_grouped(figures.amount):>22}"
        )
    lines.append(f"{'合计 total':<20}{'':>12}{format_fen_grouped(result.total_amount):>22}")
    lines.append("")
    rows = [
        ("集市场次 fairs held", f"{result.fairs_held:,}"),
        ("认定产品 certified products", f"{result.certified_products:,}"),
        (
            "认定产品销售额 certified product sales",
            format_fen_grouped(result.certified_product_sales),
        ),
        ("带动农户 households driven", f"{result.households_driven:,}"),
        ("带动人次 person-times", f"{result.person_times:,}"),
        ("已归属金额 attributed", format_fen_grouped(result.attributed_amount)),
        ("未归属金额 unattributed", format_fen_grouped(result.unattributed_amount)),
    ]
    for label, value in rows:
        lines.append(f"{label:<40}{value:>14}")
    return "\n".join(lines)


def fairs_table(result: FairSeason) -> str:
    data = result.to_json()
    lines = [
        f"爱心扶贫集市 / Fairs  {data['from'] or '-'} ~ {data['to'] or '-'}",
        f"{result.fairs_held:,} fairs held, {format_fen_grouped(result.amount)} yuan sold, "
        f"{result.households_driven:,} households driven",
        "",
        f"{'日期 date':<12}{'编号 code':<22}{'状态 status':<12}{'订单 orders':>12}"
        f"{'金额 amount (元)':>20}  名称 name",
    ]
    for fair in result.fairs:
        lines.append(
            f"{fair.date.isoformat():<12}{fair.code:<22}{fair.status:<12}{fair.orders:>12,}"
            f"{format_fen_grouped(fair.amount):>20}  {fair.name}"
        )
    return "\n".join(lines)


period_report(
    "summary",
    summary,
    summary_table,
    "Headline figures for a period (default: everything), net of refunds.",
)
period_report(
    "fairs",
    fair_season,
    fairs_table,
    "The fair season: fairs held, fair sales and households driven, fair by fair.",
)


@report_cli.command("rebuild-rollup")
def rebuild_rollup_command() -> None:
    """Recompute the sales rollup every report reads from the attribution rows."""
    from orders.ledger.rollup import rebuild

    click.echo(f"sales rollup rebuilt: {rebuild():,} rows")


orders_cli = AppGroup("orders", help="Online orders.")


@orders_cli.command("expire")
def expire_command() -> None:
    """Cancel unpaid orders past their reservation time (releasing the stock), complete
    shipped orders not confirmed within ORDER_AUTO_COMPLETE_DAYS (10), and retry the
    gateway refunds not confirmed yet."""
    expired, completed = expire_orders()
    settled, pending = settle_refunds()
    click.echo(
        f"expired {expired} unpaid order(s); auto-received {completed} shipment(s); "
        f"refunded {settled} pending refund(s), {pending} still pending"
    )


@report_cli.command("quotas")
@click.option("--year", type=click.IntRange(2000, 2100), help="Year (default: this year).")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
def quotas_command(year: int | None, format_: str) -> None:
    """Each agency's reserved procurement share for a year and how much of it is paid."""
    from marketplace.clock import local_today
    from orders.procurement.quotas import quota_report

    today = local_today()
    report = quota_report(year or today.year, today)
    if format_ == "json":
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    lines = [
        f"预留份额 / Reserved procurement shares  {report.year}",
        "",
        f"{'单位 agency':<24}{'预留 reserved':>16}{'已下单 ordered':>16}"
        f"{'已验收 accepted':>16}{'已付款 paid':>16}{'%':>9}",
    ]
    for row in report.rows:
        percent = "-" if row.percent_paid is None else f"{row.percent_paid}"
        name = row.agency.name + (" (无食堂 no canteen)" if row.no_canteen else "")
        lines.append(
            f"{name:<24}{format_fen_grouped(row.reserved):>16}{format_fen_grouped(row.ordered):>16}"
            f"{format_fen_grouped(row.accepted):>16}{format_fen_grouped(row.paid):>16}{percent:>9}"
        )
    lines.append(
        f"{'合计 total':<24}{format_fen_grouped(report.total_reserved):>16}{'':>16}{'':>16}"
        f"{format_fen_grouped(report.total_paid):>16}"
    )
    click.echo("\n".join(lines))
