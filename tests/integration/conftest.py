"""Fixtures of the integration tests: ``live_server``, the real app under gunicorn
(tests/integration/live_server.py) on the suite's PostgreSQL test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..conftest import on_postgres
from .live_server import LiveServer


@pytest.fixture(scope="session")
def live_server(app, database_url, tmp_path_factory) -> Iterator[LiveServer]:
    """One gunicorn server (3 sync workers) for the session, sharing the test database
    the ``app`` fixture built: what a test commits, the server sees, and the suite's
    clean-up after each test empties it for both. PostgreSQL only: SQLite has no row
    locks to race on, and several processes on one SQLite file measure its file lock."""
    if not on_postgres():
        pytest.skip("the live server runs on PostgreSQL: set TEST_DATABASE_URL")
    log_path = tmp_path_factory.mktemp("live_server") / "gunicorn.log"
    with LiveServer(database_url, workers=3, log_path=log_path) as server:
        yield server
