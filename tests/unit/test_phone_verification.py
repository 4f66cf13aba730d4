"""A phone number on the account, verified by a texted code (issue 13, item 9): 6 digits,
a short life, few guesses, rate-limited sending, stored hashed; log-in by phone and
password only once the phone is verified; one account per verified number."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import PhoneCode
from marketplace.extensions import db
from marketplace.models import User
from marketplace.notifications.sms import LogSmsSender

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory

PHONE = "13912345678"
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def sms(app, monkeypatch):
    sender = LogSmsSender()
    monkeypatch.setitem(app.extensions, "sms", sender)
    return sender


def logged_in_client(app, user, ip="10.7.0.1"):
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": ip},
    )
    assert response.status_code == 302
    return client


def ask_code(client, phone=PHONE):
    return client.post("/account/phone", data={"phone": phone})


def enter(client, code):
    return client.post("/account/phone/code", data={"code": code})


def texted_code(sms) -> str:
    _phone, text = sms.sent[-1]
    [code] = re.findall(r"\b(\d{6})\b", text)
    return code


def login(app, identifier, password=TEST_PASSWORD):
    return app.test_client().post("/login", data={"email": identifier, "password": password})


def fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_a_six_digit_code_is_texted_and_stored_only_hashed(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    response = ask_code(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/code")
    phone, _text = sms.sent[-1]
    assert phone == PHONE
    code = texted_code(sms)
    stored = db.session.scalar(select(PhoneCode).where(PhoneCode.user_id == user.id))
    assert stored.phone == PHONE
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_the_right_code_verifies_the_phone_and_it_logs_in(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    ask_code(client)
    response = enter(client, texted_code(sms))
    assert response.status_code == 302
    user = fresh(user)
    assert user.phone == PHONE and user.phone_verified_at is not None
    assert login(app, PHONE).status_code == 302
    assert login(app, PHONE, "wrong password").status_code == 200


def test_an_unverified_phone_does_not_log_in(app):
    UserFactory(phone=PHONE)
    page = login(app, PHONE)
    assert page.status_code == 200
    assert "账号或密码不正确" in page.get_data(as_text=True)


def test_the_code_works_once(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    ask_code(client)
    code = texted_code(sms)
    enter(client, code)
    again = enter(client, code)
    assert "验证码已失效" in again.get_data(as_text=True)


def test_wrong_guesses_are_counted_and_the_fifth_ends_the_code(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    ask_code(client)
    code = texted_code(sms)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = enter(client, wrong).get_data(as_text=True)
    assert "还可以再试 4 次" in page
    for _ in range(4):
        page = enter(client, wrong).get_data(as_text=True)
    assert "次数已用完" in page
    assert "验证码已失效" in enter(client, code).get_data(as_text=True)
    assert fresh(user).phone_verified_at is None


@pytest.mark.parametrize(
    ("later", "works"), [(timedelta(minutes=9), True), (timedelta(minutes=11), False)]
)
def test_the_code_expires(app, sms, frozen_clock, later, works):
    user = UserFactory()
    frozen_clock(T0)
    client = logged_in_client(app, user)
    ask_code(client)
    code = texted_code(sms)
    frozen_clock(T0 + later)
    enter(client, code)
    assert (fresh(user).phone_verified_at is not None) is works


def test_a_new_code_replaces_the_old_one(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    ask_code(client)
    first = texted_code(sms)
    ask_code(client)
    second = texted_code(sms)
    if first != second:
        assert "验证码" in enter(client, first).get_data(as_text=True)
        assert fresh(user).phone_verified_at is None
    enter(client, second)
    assert fresh(user).phone_verified_at is not None


def test_sending_is_limited_per_account(app, sms):
    client = logged_in_client(app, UserFactory())
    for n in range(5):
        assert ask_code(client, f"1391234000{n}").status_code == 302
    assert ask_code(client, "13912340009").status_code == 429
    assert len(sms.sent) == 5


def test_sending_is_limited_per_number_across_accounts(app, sms):
    for n in range(5):
        client = logged_in_client(app, UserFactory(), ip=f"10.8.0.{n}")
        assert ask_code(client).status_code == 302
    client = logged_in_client(app, UserFactory(), ip="10.8.1.1")
    assert ask_code(client).status_code == 429
    assert ask_code(client, "13700000000").status_code == 302


def test_a_number_verified_by_another_account_is_refused(app, sms):
    UserFactory(phone=PHONE, phone_verified_at=datetime(2026, 1, 1))
    client = logged_in_client(app, UserFactory())
    page = ask_code(client).get_data(as_text=True)
    assert "已被另一个账号验证" in page
    assert sms.sent == []


def test_the_database_holds_one_verified_account_per_number():
    UserFactory(phone=PHONE, phone_verified_at=datetime(2026, 1, 1))
    UserFactory(phone=PHONE)  # unverified copies are allowed
    with pytest.raises(IntegrityError):
        UserFactory(phone=PHONE, phone_verified_at=datetime(2026, 1, 2))
    db.session.rollback()


def test_the_number_verified_first_wins(app, sms):
    """Two accounts each got a code for the number; the second to enter it is refused."""
    first, second = UserFactory(), UserFactory()
    a, b = logged_in_client(app, first), logged_in_client(app, second, ip="10.7.0.2")
    ask_code(a)
    code_a = texted_code(sms)
    ask_code(b)
    code_b = texted_code(sms)
    enter(a, code_a)
    page = enter(b, code_b).get_data(as_text=True)
    assert "已被另一个账号验证" in page
    assert fresh(second).phone_verified_at is None


def test_changing_the_phone_on_the_profile_unverifies_it(app, sms):
    user = UserFactory()
    client = logged_in_client(app, user)
    ask_code(client)
    enter(client, texted_code(sms))
    client.post("/account", data={"name": user.name, "phone": "13600000000", "locale": "zh_CN"})
    user = fresh(user)
    assert user.phone == "13600000000" and user.phone_verified_at is None
    assert login(app, "13600000000").status_code == 200
    assert login(app, PHONE).status_code == 200


def test_the_profile_shows_whether_the_phone_is_verified(app, sms):
    user = UserFactory(phone=PHONE)
    client = logged_in_client(app, user)
    assert "未验证" in client.get("/account").get_data(as_text=True)
    ask_code(client)
    enter(client, texted_code(sms))
    assert "已验证" in client.get("/account").get_data(as_text=True)


def test_the_code_pages_need_a_login(client):
    assert client.get("/account/phone").status_code == 302
    assert client.post("/account/phone/code", data={"code": "123456"}).status_code == 302
