"""Registration tells nobody whether an e-mail has an account, and is rate-limited; too
many wrong passwords slow an attacker without locking the owner out (issue 9, item 13).

Design: the register form always answers "we sent you a mail" (the same redirect, the
same page). A new e-mail gets a link that creates the account and logs in; a taken
e-mail gets a "you already have an account" mail instead. Nothing is created until the
link is used, so the form cannot be used to probe or to squat on someone's address.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.extensions import db
from marketplace.models import RegistrationRequest, User, utcnow

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory

FORM = {
    "email": "lin@example.cn",
    "name": "林小海",
    "phone": "13876543210",
    "password": "long enough 1",
    "confirm": "long enough 1",
    "agree": "y",
}


def register(client, path="/register", ip="10.1.0.1", **overrides):
    return client.post(path, data={**FORM, **overrides}, environ_base={"REMOTE_ADDR": ip})


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def link_in(message) -> str:
    [url] = re.findall(r"http://localhost(/register/confirm/\S+)", message.body)
    return url


# ---- the same answer for a new and a taken e-mail ----


def without_csrf_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token"', html)


def test_taken_and_new_email_get_the_same_answer(app, outbox):
    UserFactory(email="taken@example.cn", name="符大海")
    answers = []
    for n, email in enumerate(["taken@example.cn", "new@example.cn"]):
        client = app.test_client()  # two strangers, so no cookie or counter differs
        response = register(client, email=email, ip=f"10.2.0.{n + 1}")
        page = client.get(response.headers["Location"])
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                response.data,
                without_csrf_tokens(page.data),  # each visitor's own form token
            )
        )
        assert page.status_code == 200
        assert "请查收邮件" in page.get_data(as_text=True)
        assert not signed_in(client)
    assert answers[0] == answers[1]
    assert answers[0][0] == 302

    taken, new = outbox
    assert taken.recipients == ["taken@example.cn"]
    assert "已经注册" in taken.body and "/login" in taken.body
    assert "/register/confirm/" not in taken.body
    assert new.recipients == ["new@example.cn"]
    assert "/register/confirm/" in new.body
    assert users() == 1  # nothing created yet, the taken account untouched
    assert db.session.scalar(select(User)).name == "符大海"


def test_form_errors_do_not_depend_on_the_email_either(client, outbox):
    UserFactory(email="taken@example.cn")
    short = {"password": "short7!", "confirm": "short7!"}
    pages = [register(client, email=e, **short).data for e in ("taken@example.cn", "x@y.cn")]
    assert pages[0].replace(b"taken@example.cn", b"x@y.cn") == pages[1]
    assert outbox == []


# ---- the link ----


def test_the_link_creates_the_account_and_logs_in(client, outbox, auth):
    register(client, email="Lin@Example.CN")
    confirm_url = link_in(outbox[0])
    page = client.get(confirm_url)
    assert page.status_code == 200 and "完成注册" in page.get_data(as_text=True)
    assert users() == 0  # a mail scanner following the link creates nothing
    response = client.post(confirm_url)
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert (user.email, user.name, user.phone) == ("lin@example.cn", "林小海", "13876543210")
    assert user.password_hash.startswith("$argon2")
    assert signed_in(client)
    assert db.session.scalar(select(func.count(RegistrationRequest.id))) == 0
    auth.logout()
    assert auth.login("lin@example.cn", "long enough 1").status_code == 302


def test_the_link_works_once(app, client, outbox):
    register(client)
    confirm_url = link_in(outbox[0])
    client.post(confirm_url)
    again = app.test_client().post(confirm_url)
    assert again.status_code == 404
    assert "链接无效或已过期" in again.get_data(as_text=True)
    assert users() == 1


def test_an_expired_or_made_up_link_is_refused(client, outbox):
    register(client)
    confirm_url = link_in(outbox[0])
    db.session.execute(
        update(RegistrationRequest).values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert client.post(confirm_url).status_code == 404
    assert client.get("/register/confirm/not-a-token").status_code == 404
    assert users() == 0


def test_until_the_link_is_used_the_password_does_not_log_in(client, auth, outbox):
    register(client)
    page = auth.login(FORM["email"], FORM["password"]).get_data(as_text=True)
    assert "账号或密码不正确" in page  # the same as for a taken e-mail and a wrong password


def test_someone_elses_registration_cannot_take_over_the_address(app, client, outbox):
    """Two people register the same address; each link carries its own password, and
    once one is used the other can no longer create a second account."""
    register(client, password="first password", confirm="first password")
    register(app.test_client(), password="second password", confirm="second password")
    first, second = (link_in(m) for m in outbox)
    client.post(first)
    response = app.test_client().post(second)
    assert response.status_code == 404
    assert users() == 1
    assert (
        app.test_client()
        .post("/login", data={"email": FORM["email"], "password": "first password"})
        .status_code
        == 302
    )


def test_the_link_returns_to_the_page_that_asked(client, outbox):
    register(client, path="/register?next=/checkout")
    response = client.post(link_in(outbox[0]))
    assert response.headers["Location"].endswith("/checkout")
    client.post("/logout")
    register(client, path="/register?next=https://evil.example/", email="b@example.cn")
    response = client.post(link_in(outbox[1]))
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


# ---- rate limits ----


def test_the_eleventh_registration_from_one_address_is_429(app, outbox):
    client = app.test_client()
    for n in range(10):
        assert register(client, email=f"u{n}@example.cn", ip="10.3.0.1").status_code == 302
    assert register(client, email="u10@example.cn", ip="10.3.0.1").status_code == 429
    assert register(client, email="u10@example.cn", ip="10.3.0.2").status_code == 302
    assert len(outbox) == 11


def test_one_address_gets_few_mails_whoever_asks(app, outbox):
    """Many addresses cannot flood one mailbox (the same for a taken e-mail)."""
    for n in range(6):
        response = register(app.test_client(), ip=f"10.4.0.{n + 1}")
    assert response.status_code == 429
    assert len(outbox) == 5


def wrong(client, email, ip):
    return client.post(
        "/login", data={"email": email, "password": "wrong"}, environ_base={"REMOTE_ADDR": ip}
    )


def right(client, email, ip):
    return client.post(
        "/login",
        data={"email": email, "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_an_attacker_is_stopped_but_the_owner_elsewhere_logs_in(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "10 per 5 minutes")  # the default
    owner = UserFactory()
    attacker = app.test_client()
    for _ in range(10):
        assert wrong(attacker, owner.email, "203.0.113.9").status_code == 200
    assert wrong(attacker, owner.email, "203.0.113.9").status_code == 429
    assert right(attacker, owner.email, "203.0.113.9").status_code == 429
    assert right(client, owner.email, "10.5.0.1").status_code == 302


def test_a_known_device_logs_in_through_a_distributed_attack(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "5 per hour")
    owner = UserFactory()
    phone = app.test_client()
    assert right(phone, owner.email, "10.6.0.1").status_code == 302  # remembered device
    assert phone.get_cookie("known_device") is not None
    phone.post("/logout")
    for n in range(5):
        assert wrong(app.test_client(), owner.email, f"198.51.100.{n + 1}").status_code == 200
    # the address has had its ceiling of failures: a stranger's browser is refused ...
    assert right(app.test_client(), owner.email, "10.6.0.2").status_code == 429
    # ... the owner's own phone, anywhere, is not
    assert right(phone, owner.email, "10.6.0.3").status_code == 302


def test_a_known_device_cookie_only_vouches_for_its_own_account(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "3 per hour")
    victim, attacker_account = UserFactory(), UserFactory()
    attacker = app.test_client()
    assert right(attacker, attacker_account.email, "203.0.113.5").status_code == 302
    attacker.post("/logout")
    for n in range(3):
        assert wrong(attacker, victim.email, f"203.0.113.{10 + n}").status_code == 200
    assert wrong(attacker, victim.email, "203.0.113.20").status_code == 429


@pytest.mark.parametrize("value", ["", "garbage", "eyJ0YW1wZXJlZCI6MX0.abc.def"])
def test_a_forged_known_device_cookie_is_ignored(app, monkeypatch, value):
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "1 per hour")
    owner = UserFactory()
    assert wrong(app.test_client(), owner.email, "198.51.100.1").status_code == 200
    forged = app.test_client()
    forged.set_cookie("known_device", value)
    assert right(forged, owner.email, "10.7.0.1").status_code == 429
