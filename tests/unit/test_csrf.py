"""CSRF protection stays on in production: these tests run an app with it enabled (the
shared test app switches it off for convenience)."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.i18n import LOCALE_COOKIE
from marketplace.models import Household, OrgKind, Role, User

from ..conftest import TEST_PASSWORD, make_test_config
from ..factories import HouseholdFactory, UserFactory, member_of

TOKEN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


@pytest.fixture(scope="module")
def csrf_app(database_url, tmp_path_factory):
    config = make_test_config(database_url, tmp_path_factory.mktemp("csrf"))
    config["WTF_CSRF_ENABLED"] = True
    app = create_app(config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


def token(client, url: str) -> str:
    match = TOKEN.search(client.get(url).get_data(as_text=True))
    assert match, f"no csrf_token in the form at {url}"
    return match.group(1)


def count_users() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(User.id)))


def login(client, email: str) -> None:
    response = client.post(
        "/login",
        data={"email": email, "password": TEST_PASSWORD, "csrf_token": token(client, "/login")},
    )
    assert response.status_code == 302


def test_login_without_token_is_rejected(csrf_client):
    user = UserFactory()
    response = csrf_client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "表单已过期或无效" in response.get_data(as_text=True)
    assert csrf_client.get("/account").status_code == 302  # still logged out


def test_login_with_a_forged_token_is_rejected(csrf_client):
    user = UserFactory()
    data = {"email": user.email, "password": TEST_PASSWORD, "csrf_token": "forged"}
    assert csrf_client.post("/login", data=data).status_code == 400


def test_login_with_token_works(csrf_client):
    user = UserFactory()
    login(csrf_client, user.email)
    assert csrf_client.get("/account").status_code == 200


def registration() -> dict:
    return {
        "email": "new@example.cn",
        "name": "新用户",
        "password": "long enough 1",
        "confirm": "long enough 1",
        "agree": "y",
    }


def test_register_without_token_is_rejected_and_creates_nobody(csrf_client):
    assert csrf_client.post("/register", data=registration()).status_code == 400
    assert count_users() == 0


def test_register_with_token_creates_the_account(csrf_client, caplog):
    data = {**registration(), "csrf_token": token(csrf_client, "/register")}
    with caplog.at_level(logging.INFO, logger="marketplace.mail"):
        assert csrf_client.post("/register", data=data).status_code == 302
    [link] = re.findall(r"http://localhost(/register/confirm/\S+)", caplog.text)
    # the link's button is a form like any other
    assert csrf_client.post(link).status_code == 400
    assert count_users() == 0
    assert csrf_client.post(link, data={"csrf_token": token(csrf_client, link)}).status_code == 302
    assert count_users() == 1


def test_token_from_another_session_is_rejected(csrf_app, csrf_client):
    other = csrf_app.test_client()
    data = {**registration(), "csrf_token": token(other, "/register")}
    assert csrf_client.post("/register", data=data).status_code == 400
    assert count_users() == 0


def test_bureau_post_without_token_is_rejected_and_changes_nothing(csrf_client):
    staff = member_of(OrgKind.BUREAU, Role.STAFF)
    household = HouseholdFactory(status="poor", risk_light="green")
    login(csrf_client, staff.email)
    url = f"/bureau/households/{household.id}"
    response = csrf_client.post(url, data={"status": "alleviated", "risk_light": "red"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == "poor"

    data = {"status": "alleviated", "risk_light": "red", "csrf_token": token(csrf_client, url)}
    assert csrf_client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == "alleviated"


def test_logout_without_token_is_rejected(csrf_client):
    login(csrf_client, UserFactory().email)
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/account").status_code == 200


def test_language_switch_needs_the_menus_token(csrf_client):
    assert csrf_client.post("/lang/en", data={"next": "/"}).status_code == 400
    assert csrf_client.get_cookie(LOCALE_COOKIE) is None
    response = csrf_client.post(
        "/lang/en", data={"next": "/", "csrf_token": token(csrf_client, "/")}
    )
    assert response.status_code == 302
    assert csrf_client.get_cookie(LOCALE_COOKIE).value == "en"
