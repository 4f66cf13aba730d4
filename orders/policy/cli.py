"""`flask rewards households --year Y [--format table|json]` and `flask rewards vendors
--year Y [--format table|json]` (docs/formats.md): a year's reward list, as approved
(frozen) or, before approval, as the ledger gives it now. Bureau-only figures."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from marketplace.errors import DomainError
from marketplace.money import format_fen_grouped
from orders.policy import lists, rewards, vendor_rewards
from orders.policy.rewards import HouseholdList
from orders.policy.vendor_rewards import VendorList

rewards_cli = AppGroup("rewards", help="The city's rewards and subsidies (bureau only).")

SOURCE_LABELS = {"assessed": "评定 assessed", "estimate": "估算 estimate"}


def _status(result) -> str:
    if result.approved is None:
        return "待批准 draft (computed from the ledger now)"
    return f"已批准 approved {result.approved.approved_at:%Y-%m-%d %H:%M} UTC (frozen)"


def households_table(result: HouseholdList) -> str:
    tiers = ", ".join(
        f"{format_fen_grouped(t)} -> {format_fen_grouped(r)}" for t, r in result.rules.tiers
    )
    lines = [
        f"农户产业奖补 / Household industry rewards  {result.year}  {_status(result)}",
        f"tiers (net income -> reward, yuan): {tiers}",
        "",
        f"{'户编码 household':<24}{'收入 income':>16}  {'来源 source':<16}{'奖补 reward':>14}",
    ]
    for row in result.rows:
        lines.append(
            f"{row.household.code:<24}{format_fen_grouped(row.income):>16}  "
            f"{SOURCE_LABELS[row.income_source]:<16}{format_fen_grouped(row.reward):>14}"
        )
    lines.append(f"{result.count:,} household-times, {format_fen_grouped(result.total)} yuan")
    for row in result.differences:
        lines.append(
            f"difference for {row.year}: {row.household.code} {format_fen_grouped(row.reward)}"
        )
    if result.differences:
        lines.append(
            f"differences {format_fen_grouped(result.differences_total)} yuan; "
            f"payable {format_fen_grouped(result.payable)} yuan"
        )
    if result.pending:
        lines.append(
            f"changed since approval (for the next list): {len(result.pending)} household(s), "
            f"{format_fen_grouped(result.pending_total)} yuan"
        )
    return "\n".join(lines)


def vendors_table(result: VendorList) -> str:
    lines = [
        f"经营主体奖补 / Vendor rewards and subsidies  {result.year}  {_status(result)}",
        "",
        f"{'主体 vendor':<16}{'户 driven':>10}{'带动 attributed':>18}{'认定 certified':>18}"
        f"{'奖励 reward':>14}{'补贴 subsidy':>14}  名称 name",
    ]
    for row in result.rows:
        lines.append(
            f"{row.vendor.code or '-':<16}{row.households_driven:>10,}"
            f"{format_fen_grouped(row.attributed):>18}{format_fen_grouped(row.certified_sales):>18}"
            f"{format_fen_grouped(row.reward):>14}{format_fen_grouped(row.transport_subsidy):>14}"
            f"  {row.vendor.name}"
        )
    lines.append(f"{result.count:,} vendors, {format_fen_grouped(result.total)} yuan")
    for row in result.differences:
        lines.append(
            f"difference for {row.year}: {row.vendor.code or row.vendor.name} "
            f"{format_fen_grouped(row.amount)}"
        )
    if result.differences:
        lines.append(
            f"differences {format_fen_grouped(result.differences_total)} yuan; "
            f"payable {format_fen_grouped(result.payable)} yuan"
        )
    if result.pending:
        lines.append(
            f"changed since approval (for the next list): {len(result.pending)} vendor(s), "
            f"{format_fen_grouped(result.pending_total)} yuan"
        )
    return "\n".join(lines)


def list_command(name: str, build, table, help_: str) -> None:
    @rewards_cli.command(name, help=help_)
    @click.option("--year", type=int, required=True, help="The year, e.g. 2025.")
    @click.option(
        "--format",
        "format_",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
    )
    def command(year: int, format_: str) -> None:
        try:
            result = build(lists.check_year(year))
        except DomainError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        if format_ == "json":
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            click.echo(table(result))


list_command(
    "households", rewards.build, households_table, "Household industry rewards for a year."
)
list_command("vendors", vendor_rewards.build, vendors_table, "Vendor rewards for a year.")
