"""Accounts: the registration form, log-in and log-out, passwords, the login rate limit and
saved delivery addresses (registration by e-mail link: tests/unit/test_registration.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Address, User

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory


def register(client, **overrides):
    data = {
        "email": "lin@example.cn",
        "name": "林小海",
        "phone": "13876543210",
        "password": "long enough 1",
        "confirm": "long enough 1",
        "agree": "y",
        **overrides,
    }
    return client.post("/register", data=data)


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def logged_in(client) -> bool:
    return client.get("/account").status_code == 200


# ---- registration ----


def test_short_password_is_refused(client):
    response = register(client, password="short7!", confirm="short7!")
    assert response.status_code == 200
    assert users() == 0


def test_password_confirmation_must_match(client):
    page = register(client, confirm="something else").get_data(as_text=True)
    assert "两次输入的密码不一致" in page
    assert users() == 0


@pytest.mark.parametrize("phone", ["12345678901", "1387654321", "138765432100", "2387654321a"])
def test_phone_must_be_a_chinese_mobile_number(client, phone):
    page = register(client, phone=phone).get_data(as_text=True)
    assert "请输入有效的 11 位手机号码" in page
    assert users() == 0


def test_phone_is_optional(client, outbox):
    register(client, phone="")
    [url] = re.findall(r"http://localhost(/register/confirm/\S+)", outbox[0].body)
    client.post(url)
    assert db.session.scalar(select(User)).phone is None


# ---- log-in and log-out ----


def test_login_and_logout(client, auth):
    user = UserFactory()
    assert not logged_in(client)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert logged_in(client)
    auth.logout()
    assert not logged_in(client)


def test_login_is_case_insensitive_on_email(client, auth):
    user = UserFactory(email="fu@example.cn")
    assert auth.login("FU@example.cn").status_code == 302
    assert db.session.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password"), [("known@example.cn", "wrong password"), ("nobody@example.cn", None)]
)
def test_failed_login_says_so_without_telling_which(client, auth, email, password):
    UserFactory(email="known@example.cn")
    page = auth.login(email, password or TEST_PASSWORD).get_data(as_text=True)
    assert "账号或密码不正确" in page
    assert not logged_in(client)


def test_disabled_account_cannot_log_in(client, auth):
    user = UserFactory(active=False)
    assert "账号或密码不正确" in auth.login(user.email).get_data(as_text=True)
    assert not logged_in(client)


def test_login_does_not_redirect_off_site(client, auth):
    user = UserFactory()
    response = client.post(
        "/login?next=https://evil.example/x", data={"email": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


# ---- login rate limit ----


def test_login_rate_limit_trips_after_repeated_failures(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = UserFactory()
    # successful log-ins do not use up the allowance
    for _ in range(4):
        assert auth.login(user.email).status_code == 302
        auth.logout()
    for _ in range(3):
        assert auth.login(user.email, "wrong password").status_code == 200
    blocked = auth.login(user.email)  # right password, but too many failures
    assert blocked.status_code == 429
    assert not logged_in(client)


def test_login_rate_limit_counts_failures_per_email_across_addresses(client, app, monkeypatch):
    """A ceiling per e-mail from all addresses together (a browser the owner logged in
    from before is exempt: tests/unit/test_registration.py)."""
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "3 per minute")
    user = UserFactory()
    for n in range(3):
        response = client.post(
            "/login",
            data={"email": user.email, "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )
        assert response.status_code == 200
    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.99"},
    )
    assert response.status_code == 429


# ---- change password ----


def test_change_password_requires_the_current_one(client, auth):
    user = UserFactory()
    auth.login(user.email)
    page = client.post(
        "/account/password",
        data={"current": "not it", "password": "brand new pass", "confirm": "brand new pass"},
    ).get_data(as_text=True)
    assert "当前密码不正确" in page
    auth.logout()
    assert auth.login(user.email, "brand new pass").status_code == 200  # refused
    assert auth.login(user.email, TEST_PASSWORD).status_code == 302


def test_change_password_then_only_the_new_one_works(client, auth):
    user = UserFactory()
    auth.login(user.email)
    response = client.post(
        "/account/password",
        data={"current": TEST_PASSWORD, "password": "brand new pass", "confirm": "brand new pass"},
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(user.email, TEST_PASSWORD).status_code == 200
    assert auth.login(user.email, "brand new pass").status_code == 302


def test_change_password_refuses_short_new_password(client, auth):
    user = UserFactory()
    auth.login(user.email)
    client.post(
        "/account/password",
        data={"current": TEST_PASSWORD, "password": "short", "confirm": "short"},
    )
    auth.logout()
    assert auth.login(user.email, TEST_PASSWORD).status_code == 302


# ---- addresses ----


def address_data(**overrides) -> dict:
    return {
        "recipient": "林小海",
        "phone": "13876543210",
        "province": "海南省",
        "city": "海口市",
        "district": "龙华区",
        "detail": "滨海大道 1 号",
        **overrides,
    }


def addresses_of(user: User) -> list[Address]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Address).where(Address.user_id == user.id).order_by(Address.id))
    )


def test_first_address_becomes_default_and_default_can_move(client, auth):
    user = UserFactory()
    auth.login(user.email)
    assert client.post("/account/addresses", data=address_data()).status_code == 302
    client.post("/account/addresses", data=address_data(detail="国兴大道 2 号"))
    first, second = addresses_of(user)
    assert (first.is_default, second.is_default) == (True, False)
    assert first.one_line() == "海南省海口市龙华区滨海大道 1 号"

    client.post(f"/account/addresses/{second.id}/default")
    first, second = addresses_of(user)
    assert (first.is_default, second.is_default) == (False, True)

    client.post("/account/addresses", data=address_data(detail="三号", is_default="y"))
    assert [a.is_default for a in addresses_of(user)] == [False, False, True]


def test_invalid_address_phone_is_refused(client, auth):
    user = UserFactory()
    auth.login(user.email)
    client.post("/account/addresses", data=address_data(phone="0898-1234"))
    assert addresses_of(user) == []


def test_deleting_the_default_address_makes_another_default(client, auth):
    user = UserFactory()
    auth.login(user.email)
    client.post("/account/addresses", data=address_data())
    client.post("/account/addresses", data=address_data(detail="国兴大道 2 号"))
    first, second = addresses_of(user)
    assert client.post(f"/account/addresses/{first.id}/delete").status_code == 302
    [rest] = addresses_of(user)
    assert rest.id == second.id and rest.is_default


def test_edit_own_address(client, auth):
    user = UserFactory()
    auth.login(user.email)
    client.post("/account/addresses", data=address_data())
    [address] = addresses_of(user)
    client.post(f"/account/addresses/{address.id}/edit", data=address_data(recipient="符大海"))
    [address] = addresses_of(user)
    assert address.recipient == "符大海" and address.is_default


def test_another_users_address_is_404_and_unchanged(client, auth):
    owner = UserFactory()
    auth.login(owner.email)
    client.post("/account/addresses", data=address_data())
    client.post("/account/addresses", data=address_data(detail="国兴大道 2 号"))
    auth.logout()
    first, second = addresses_of(owner)

    intruder = UserFactory()
    auth.login(intruder.email)
    assert client.get(f"/account/addresses/{first.id}/edit").status_code == 404
    assert (
        client.post(
            f"/account/addresses/{first.id}/edit", data=address_data(recipient="X")
        ).status_code
        == 404
    )
    assert client.post(f"/account/addresses/{second.id}/default").status_code == 404
    assert client.post(f"/account/addresses/{first.id}/delete").status_code == 404
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "滨海大道" not in page

    after = addresses_of(owner)
    assert [(a.id, a.recipient, a.is_default) for a in after] == [
        (first.id, "林小海", True),
        (second.id, "林小海", False),
    ]
