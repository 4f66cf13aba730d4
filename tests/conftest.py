"""Shared fixtures: the app (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), a
clean database per test, a client, a CLI runner and log-in helpers."""

from __future__ import annotations

import os

import pytest
from flask import g

from marketplace import create_app
from marketplace.extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_PASSWORD = "correct horse 9"


def on_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


requires_postgres = pytest.mark.skipif(
    not on_postgres(), reason="needs PostgreSQL: set TEST_DATABASE_URL (CI does)"
)


def _normalize(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return _normalize(TEST_DATABASE_URL)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def make_test_config(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "SERVER_NAME": "localhost",
        # fragments are not cached across requests in tests, except where a test builds an
        # app to check the caching itself (tests/unit/test_catalog_cache.py)
        "CACHE_TYPE": "NullCache",
        "CACHE_NO_NULL_WARNING": True,
    }


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(make_test_config(database_url, tmp_path_factory.mktemp("app")))
    fresh_request_state(app)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def fresh_request_state(app) -> None:
    """Each test holds one app context, which test-client requests reuse; without this
    a request would see ``g`` as the previous request left it (Flask-Login's cached
    user, Flask-Babel's cached locale). Clear it first thing, as a real server would."""

    def clear_g() -> None:
        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, clear_g)


def clean_database() -> None:
    """Empty every table. DELETE in dependency order rather than TRUNCATE: on
    PostgreSQL, TRUNCATE of forty tables costs about a second per test."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(app):
    """Every test runs inside an app context on an empty database."""
    with app.app_context():
        limiter.reset()
        yield
        db.session.remove()
        clean_database()


@pytest.fixture
def outbox(app, monkeypatch):
    """The kernel's mail as sent through a configured server (TESTING: recorded by
    Flask-Mail, never sent)."""
    from marketplace.mail import Mailer

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.extensions, "mail", None)
    mailer = Mailer(app)
    monkeypatch.setitem(app.extensions, "mailer", mailer)
    with mailer.mail.record_messages() as messages:
        yield messages


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = TEST_PASSWORD, follow: bool = False):
        return self._client.post(
            "/login", data={"email": email, "password": password}, follow_redirects=follow
        )

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def frozen_clock(monkeypatch):
    """``frozen_clock(datetime(..., tzinfo=UTC))`` stops the app's clock there: every
    ``utcnow()`` (column defaults too) and ``local_today()`` read it. No sleeps."""
    from marketplace import clock

    def freeze(moment):
        monkeypatch.setattr(clock, "_now", lambda: moment)

    return freeze
