"""What deploy/ and gunicorn.conf.py promise, run for real: a backup restores into a fresh
database with the same `report summary`; a half dump restores nothing; gunicorn with the
project's config writes one JSON object a line, the access line naming the request id
the app answered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from orders.ledger.models import Channel, PaymentMethod

from ..conftest import TEST_DATABASE_URL, requires_postgres
from ..order_factories import PaidOrderFactory, PaidSaleFactory
from .live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
needs_pg_tools = pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")),
    reason="needs the PostgreSQL client tools (pg_dump, pg_restore, psql)",
)


def _run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL or "",
        "FLASK": str(Path(sys.executable).with_name("flask")),
        **(env or {}),
    }
    environment.pop("TEST_DATABASE_URL", None)
    return subprocess.run(
        [str(DEPLOY / script), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=180,
        check=False,
    )


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", "-X", "-At", "-d", url.replace("+psycopg", ""), "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@requires_postgres
@needs_pg_tools
def test_a_backup_restores_to_the_same_report_summary(app):
    PaidOrderFactory()
    PaidSaleFactory(channel=Channel.COUNTER)
    PaidSaleFactory(channel=Channel.PROCUREMENT, payment_method=PaymentMethod.BANK_TRANSFER)

    result = _run("check-backup.sh")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "backup check passed" in result.stdout


@requires_postgres
@needs_pg_tools
def test_a_truncated_dump_restores_nothing_and_says_so(app, tmp_path):
    PaidOrderFactory()
    dump = _run("backup.sh", str(tmp_path)).stdout.strip()
    half = tmp_path / "half.dump"
    half.write_bytes(Path(dump).read_bytes()[: Path(dump).stat().st_size // 2])
    server = TEST_DATABASE_URL.rsplit("/", 1)[0]
    name = f"mp_restore_half_{os.getpid()}"
    _psql(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    try:
        result = _run("restore.sh", str(half), f"{server}/{name}")
        assert result.returncode != 0
        tables = _psql(
            f"{server}/{name}", "select count(*) from pg_tables where schemaname = 'public'"
        )
        assert tables == "0"  # one transaction: nothing half-restored
    finally:
        _psql(f"{server}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@requires_postgres
@needs_pg_tools
def test_restore_refuses_a_database_that_has_tables(app, tmp_path):
    dump = _run("backup.sh", str(tmp_path)).stdout.strip()
    result = _run("restore.sh", dump, TEST_DATABASE_URL)
    assert result.returncode == 1
    assert "refusing" in result.stderr


@requires_postgres
@needs_pg_tools
def test_backups_keep_only_the_newest_files(app, tmp_path):
    for _ in range(3):
        assert _run("backup.sh", str(tmp_path), env={"BACKUP_KEEP": "2"}).returncode == 0
    assert len(list(tmp_path.glob("marketplace-*.dump"))) <= 2
    assert not list(tmp_path.glob("*.partial"))


def test_gunicorn_with_the_project_config_logs_json_lines_with_the_request_id(
    app, database_url, tmp_path
):
    log = tmp_path / "gunicorn.log"
    server = LiveServer(
        database_url,
        workers=1,
        env={"LOG_FORMAT": "json", "GUNICORN_ACCESS_LOG": "-"},
        log_path=log,
    )
    with server:
        response = requests.get(
            server.url("/healthz"), headers={"X-Request-ID": "probe-0123456789"}, timeout=10
        )
        assert response.headers["X-Request-ID"] == "probe-0123456789"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [line for line in lines if line.get("path") == "/healthz"]
    assert access and access[-1]["request_id"] == "probe-0123456789"
    assert access[-1]["status"] == 200
