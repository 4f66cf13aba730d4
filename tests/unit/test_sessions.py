"""Log-ins end when they should (issue 9, item 9): each log-in is a row on the server,
named in the session and in the remember-me cookie. Log-out ends this one (its cookies
replayed later get nothing), a password change and 退出所有设备 end them all, and a
remember-me cookie lasts 14 days, not a year."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.config import load_config
from marketplace.extensions import db
from marketplace.models import LoginSession, User, utcnow

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory

SESSION, REMEMBER = "session", "remember_token"


def log_in(client, user, remember: bool = False):
    data = {"email": user.email, "password": TEST_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return response


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def cookie(client, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def replay(app, **cookies):
    """A new browser holding only these cookie values."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


@pytest.fixture
def user():
    return UserFactory()


def test_remember_cookie_alone_signs_in(app, client, user):
    """The control for the tests below: a live remember-me cookie does work."""
    log_in(client, user, remember=True)
    assert signed_in(replay(app, remember_token=cookie(client, REMEMBER)))
    assert signed_in(replay(app, session=cookie(client, SESSION)))


def test_logout_clears_the_remember_cookie_and_its_copies_are_refused(app, client, user):
    log_in(client, user, remember=True)
    session, remember = cookie(client, SESSION), cookie(client, REMEMBER)
    assert remember
    response = client.post("/logout")
    assert any(h.startswith("remember_token=;") for h in response.headers.getlist("Set-Cookie"))
    assert cookie(client, REMEMBER) is None
    assert not signed_in(client)
    assert not signed_in(replay(app, remember_token=remember))
    assert not signed_in(replay(app, session=session))


def test_logout_ends_only_this_browser(app, client, user):
    phone = app.test_client()
    log_in(client, user)
    log_in(phone, user, remember=True)
    client.post("/logout")
    assert signed_in(phone)
    assert signed_in(replay(app, remember_token=cookie(phone, REMEMBER)))


def test_password_change_refuses_every_earlier_session_and_remember_cookie(app, client, user):
    phone = app.test_client()
    log_in(client, user, remember=True)
    log_in(phone, user, remember=True)
    old_session, old_remember = cookie(client, SESSION), cookie(client, REMEMBER)
    phone_remember = cookie(phone, REMEMBER)

    response = client.post(
        "/account/password",
        data={"current": TEST_PASSWORD, "password": "brand new pass", "confirm": "brand new pass"},
    )
    assert response.status_code == 302
    assert signed_in(client)  # who changed it stays signed in, on a new log-in
    assert cookie(client, REMEMBER) not in (None, old_remember)  # still remembered
    assert signed_in(replay(app, remember_token=cookie(client, REMEMBER)))

    assert not signed_in(replay(app, session=old_session))
    assert not signed_in(replay(app, remember_token=old_remember))
    assert not signed_in(phone)
    assert not signed_in(replay(app, remember_token=phone_remember))


def test_log_out_everywhere_ends_the_other_browsers(app, client, user):
    phone = app.test_client()
    log_in(client, user)
    log_in(phone, user, remember=True)
    phone_remember = cookie(phone, REMEMBER)
    page = client.get("/account").get_data(as_text=True)
    assert "退出所有设备" in page and 'action="/account/logout-everywhere"' in page

    response = client.post("/account/logout-everywhere", follow_redirects=True)
    assert "已退出所有设备" in response.get_data(as_text=True)
    assert not signed_in(client)
    assert not signed_in(phone)
    assert not signed_in(replay(app, remember_token=phone_remember))
    assert db.session.scalars(select(LoginSession)).all() == []
    log_in(phone, user)  # the password still works
    assert signed_in(phone)


def test_log_out_everywhere_needs_a_post_and_a_login(client, user):
    assert client.get("/account/logout-everywhere").status_code == 405
    response = client.post("/account/logout-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_expired_login_is_refused(client, user):
    log_in(client, user, remember=True)
    db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not signed_in(client)


def test_a_disabled_account_is_signed_out(client, user):
    log_in(client, user)
    db.session.execute(update(User).where(User.id == user.id).values(active=False))
    db.session.commit()
    assert not signed_in(client)


def test_a_session_naming_only_the_user_id_is_refused(app, client, user):
    """Sessions from before log-ins had rows (``_user_id`` = the bare id) end."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not signed_in(client)


def test_remember_cookie_lasts_fourteen_days(client, user):
    response = log_in(client, user, remember=True)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    found = client.get_cookie(REMEMBER)
    lifetime = found.expires - utcnow().replace(tzinfo=found.expires.tzinfo)
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)
    row = db.session.scalar(select(LoginSession))
    assert timedelta(days=13, hours=23) < row.expires_at - utcnow() <= timedelta(days=14)


def test_production_remember_cookie_flags(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "s", "DATABASE_URL": "postgresql://u@db/mp"}
    config = load_config(str(tmp_path), env)
    assert config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    assert config["REMEMBER_COOKIE_SECURE"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert load_config(str(tmp_path), {**env, "REMEMBER_DAYS": "3"})[
        "REMEMBER_COOKIE_DURATION"
    ] == timedelta(days=3)
