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


def test_a_visitors_language_switch_needs_a_post_from_this_site(csrf_client):
    """A visitor's menu carries no token (a visitor's page opens no session): the
    browser's same-origin proof stands in for it. Without one, or from another site,
    the switch is refused like a form without a token."""
    here = "http://localhost"
    refused = [
        {},  # no browser header at all
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://localhost"},  # another scheme is another origin
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site", "Origin": here},  # the browser's own word wins
    ]
    for headers in refused:
        response = csrf_client.post("/lang/en", data={"next": "/"}, headers=headers)
        assert response.status_code == 400, headers
        assert "表单已过期或无效" in response.get_data(as_text=True)
        assert csrf_client.get_cookie(LOCALE_COOKIE) is None, headers
    for headers in (
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": here},
        {"Referer": f"{here}/products?page=2"},
    ):
        response = csrf_client.post("/lang/en", data={"next": "/"}, headers=headers)
        assert response.status_code == 302, headers
        assert csrf_client.get_cookie(LOCALE_COOKIE).value == "en"
        csrf_client.delete_cookie(LOCALE_COOKIE)


def test_a_signed_in_persons_language_switch_takes_the_menus_token(csrf_client):
    user = UserFactory()
    login(csrf_client, user.email)
    cross_site = {"Origin": "https://evil.example"}
    assert csrf_client.post("/lang/en", data={"next": "/"}, headers=cross_site).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).locale is None
    response = csrf_client.post(
        "/lang/en", data={"next": "/", "csrf_token": token(csrf_client, "/")}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_a_visitors_public_pages_open_no_session(csrf_client):
    """No cookie is signed and set for a visitor who only reads: public pages can be
    cached by a proxy, and a first visit costs no session."""
    for url in ("/", "/products", "/impact", "/notices", "/fairs"):
        response = csrf_client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers, url
        assert 'name="csrf_token"' not in response.get_data(as_text=True).split("</nav>")[0]
