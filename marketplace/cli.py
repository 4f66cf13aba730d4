"""Command groups: `users`, `import`, `demo`. The app factory adds them to the app."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from . import registries
from .errors import DomainError
from .importing import Importer, ImportFailed, run_import

users_cli = AppGroup("users", help="Accounts.")
import_cli = AppGroup("import", help="CSV imports (see docs/formats.md).")
demo_cli = AppGroup("demo", help="Demo data.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="局管理员", show_default=True)
@click.option("--bureau", "bureau_name", default="乡村振兴局", show_default=True)
def create_admin(email: str, password: str, name: str, bureau_name: str) -> None:
    """Create the first bureau admin (and the bureau organization if it is missing)."""
    from .accounts.services import create_bureau_admin

    try:
        user = create_bureau_admin(email=email, password=password, name=name, bureau=bureau_name)
    except DomainError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"bureau admin {user.email} ready")


def import_command(importer_class: type[Importer]) -> click.Command:
    """A `flask import NAME FILE` command for an importer; its extra flags come from
    ``importer_class.options``."""

    def command(file: str, dry_run: bool, encoding: str | None, **options) -> None:
        importer = importer_class(None, **options)
        data = Path(file).read_bytes()
        try:
            summary = run_import(importer, data, encoding=encoding, dry_run=dry_run)
        except ImportFailed as failed:
            for error in failed.errors:
                click.echo(str(error))
            click.echo(f"{importer_class.name}: {len(failed.errors)} errors, nothing written")
            sys.exit(1)
        for detail in summary.details:
            click.echo(detail)
        click.echo(summary.line())

    params: list[click.Parameter] = [
        click.Argument(["file"], type=click.Path(exists=True, dir_okay=False)),
        click.Option(["--dry-run"], is_flag=True, help="Validate and report; write nothing."),
        click.Option(["--encoding"], default=None, help="Override encoding detection."),
    ]
    for flag, help_text in importer_class.options.items():
        params.append(
            click.Option([f"--{flag.replace('_', '-')}", flag], is_flag=True, help=help_text)
        )
    return click.Command(
        importer_class.name,
        callback=command,
        params=params,
        help=f"Import {importer_class.name} from a CSV file.",
    )


def register_importers(app: Flask, importers: list[type[Importer]]) -> None:
    """Add one `import` subcommand per importer and list them for the upload page
    (the ``importers`` registry)."""
    registries.importers.fill(app, {i.name: i for i in importers})
    for importer_class in importers:
        if importer_class.name not in import_cli.commands:
            import_cli.add_command(import_command(importer_class))


@demo_cli.command("load")
@click.option("--force", is_flag=True, help="Load even when APP_ENV=production.")
def demo_load(force: bool) -> None:
    """Load the Haikou demo data (safe to run again: it loads once)."""
    from flask import current_app

    from .demo import load_demo

    if current_app.config["APP_ENV"] == "production" and not force:
        click.echo(
            "error: refusing to load demo data into a production database "
            "(APP_ENV=production); use --force for a trial",
            err=True,
        )
        sys.exit(1)

    created = load_demo()
    click.echo("demo data loaded" if created else "demo data already present")


@demo_cli.command("logins")
def demo_logins() -> None:
    """Print the demo logins."""
    from .demo import DEMO_PASSWORD, DEMO_USERS

    click.echo(f"演示账号 / demo logins (password for all: {DEMO_PASSWORD})")
    for email, _name, role_label, *_rest in DEMO_USERS:
        click.echo(f"  {role_label:<24} {email}")
    click.echo("Shop: http://127.0.0.1:5000")
