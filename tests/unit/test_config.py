"""Configuration from the environment; production refuses to start unsafely."""

from __future__ import annotations

import pytest

from marketplace.config import ConfigError, load_config


def test_production_without_secret_key_refuses(tmp_path):
    env = {"APP_ENV": "production", "DATABASE_URL": "postgresql://u@db/mp"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), env)
    assert not (tmp_path / "secret_key").exists()  # no key was generated to paper over it


def test_production_refuses_sqlite_unless_allowed(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "s3cret"}
    with pytest.raises(ConfigError, match="SQLite"):
        load_config(str(tmp_path), env)  # the default URL is an SQLite file
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {**env, "DATABASE_URL": "sqlite:////srv/mp.db"})
    config = load_config(str(tmp_path), {**env, "ALLOW_SQLITE": "1"})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_production_config_is_hardened(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "s3cret", "DATABASE_URL": "postgresql://u@db/mp"}
    config = load_config(str(tmp_path), env)
    assert config["SECRET_KEY"] == "s3cret"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize("url", ["postgres://u:p@db:5432/mp", "postgresql://u:p@db:5432/mp"])
def test_postgres_urls_use_psycopg3(tmp_path, url):
    config = load_config(str(tmp_path), {"DATABASE_URL": url, "SECRET_KEY": "x"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/mp"


def test_explicit_driver_is_kept(tmp_path):
    url = "postgresql+psycopg://u@db/mp"
    assert load_config(str(tmp_path), {"DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == url


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    first = load_config(str(tmp_path), {})
    second = load_config(str(tmp_path), {})
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["SESSION_COOKIE_SECURE"] is False
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'marketplace.db'}"


def test_redis_url_backs_the_rate_limiter(tmp_path):
    config = load_config(str(tmp_path), {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert load_config(str(tmp_path), {})["RATELIMIT_STORAGE_URI"] == "memory://"


def test_demo_load_refuses_a_production_database(app, runner):
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.models import User

    app.config["APP_ENV"] = "production"
    try:
        result = runner.invoke(args=["demo", "load"])
    finally:
        app.config["APP_ENV"] = "development"
    assert result.exit_code == 1
    assert "production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
