"""`flask certifications expiring [--days 90]`."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from marketplace.clock import local_today

from .certification import expiring
from .reminders import send_reminders

certifications_cli = AppGroup("certifications", help="Poverty-relief product certifications.")


@certifications_cli.command("expiring")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(0, 3650),
    help="Look this many days ahead.",
)
@click.option("--today", "today_", default=None, help="Reference date YYYY-MM-DD (default: today).")
def expiring_command(days: int, today_: str | None) -> None:
    """List certificates and test reports that expire within --days days."""
    today = date.fromisoformat(today_) if today_ else local_today()
    found = expiring(today, days)
    if not found:
        click.echo(f"nothing expires within {days} days")
        return
    for item in found:
        cert = item.certification
        product = cert.product
        what = "certificate" if item.what == "certificate" else "test report"
        click.echo(
            f"{item.expires_on.isoformat()}  {item.days_left:>3} days  {what:<12} "
            f"{cert.certificate_no or '-':<20} {product.sku:<16} {product.name} "
            f"({product.vendor.name})"
        )
    click.echo(f"{len(found)} expiring within {days} days")


@certifications_cli.command("remind")
@click.option("--today", "today_", default=None, help="Reference date YYYY-MM-DD (default: today).")
def remind_command(today_: str | None) -> None:
    """Send the certificate reminders due today (90/30/7 days, expired), each once."""
    today = date.fromisoformat(today_) if today_ else local_today()
    result = send_reminders(today)
    click.echo(
        f"sent {result.sent} reminder(s) to {result.vendors} vendor(s); "
        f"bureau staff told: {result.bureau_told}"
    )
