"""GET /healthz: what a load balancer asks before sending traffic."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from marketplace.extensions import db


def test_healthz_ok_after_a_database_round_trip(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_json_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def test_healthz_is_not_rate_limited(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
