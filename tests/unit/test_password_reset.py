"""忘记密码 (issue 13, item 8): a reset link by mail, signed, working once and for 30
minutes; the form answers the same whether or not the address has an account, and is
rate-limited; resetting ends every other log-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from marketplace.accounts import recovery
from marketplace.accounts.services import hash_password, password_matches
from marketplace.extensions import db
from marketplace.models import AuditEntry, User

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory

NEW = "a new password 7"
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def forgot(client, email: str, ip: str = "10.3.0.1"):
    return client.post("/password/forgot", data={"email": email}, environ_base={"REMOTE_ADDR": ip})


def link_in(message) -> str:
    [path] = re.findall(r"http://localhost(/password/reset/\S+)", message.body)
    return path


def reset(client, path: str, password: str = NEW, confirm: str | None = None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def logs_in(app, email: str, password: str) -> bool:
    return (
        app.test_client().post("/login", data={"email": email, "password": password}).status_code
        == 302
    )


def without_csrf_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token"', html)


def test_the_login_page_links_to_forgot_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "忘记密码" in page


def test_known_and_unknown_email_get_the_same_answer(app, outbox):
    UserFactory(email="known@example.cn")
    answers = []
    for n, email in enumerate(["known@example.cn", "nobody@example.cn"]):
        client = app.test_client()
        response = forgot(client, email, ip=f"10.4.0.{n + 1}")
        page = client.get(response.headers["Location"])
        answers.append(
            (response.status_code, response.headers["Location"], without_csrf_tokens(page.data))
        )
        assert "请查收邮件" in page.get_data(as_text=True)
    assert answers[0] == answers[1]
    assert answers[0][0] == 302
    known, unknown = outbox
    assert known.recipients == ["known@example.cn"] and "/password/reset/" in known.body
    assert unknown.recipients == ["nobody@example.cn"]
    assert "/password/reset/" not in unknown.body and "没有" in unknown.subject


def test_a_disabled_account_gets_no_link(client, outbox):
    UserFactory(email="off@example.cn", active=False)
    forgot(client, "off@example.cn")
    [mail] = outbox
    assert "/password/reset/" not in mail.body


def test_the_link_sets_a_new_password(app, client, outbox):
    user = UserFactory(email="lin@example.cn")
    forgot(client, "LIN@example.cn ")
    path = link_in(outbox[0])
    assert client.get(path).status_code == 200
    response = reset(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert logs_in(app, "lin@example.cn", NEW)
    assert not logs_in(app, "lin@example.cn", TEST_PASSWORD)
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.reset_password", AuditEntry.object_id == str(user.id)
        )
    )


def test_the_link_works_once(app, client, outbox):
    UserFactory(email="lin@example.cn")
    forgot(client, "lin@example.cn")
    path = link_in(outbox[0])
    assert reset(client, path).status_code == 302
    again = reset(client, path, password="third password 9")
    assert again.status_code == 404
    assert "已经用过" in again.get_data(as_text=True)
    assert client.get(path).status_code == 404
    assert logs_in(app, "lin@example.cn", NEW)
    assert not logs_in(app, "lin@example.cn", "third password 9")


def test_an_earlier_link_dies_when_a_later_one_is_used(app, client, outbox):
    UserFactory(email="lin@example.cn")
    forgot(client, "lin@example.cn")
    first = link_in(outbox[0])
    forgot(client, "lin@example.cn", ip="10.3.0.2")
    second = link_in(outbox[1])
    assert reset(client, second).status_code == 302
    assert reset(client, first, password="third password 9").status_code == 404


@pytest.mark.parametrize(
    ("later", "works"),
    [
        (timedelta(minutes=29, seconds=59), True),
        (timedelta(minutes=30), True),
        (timedelta(minutes=30, seconds=1), False),
        (timedelta(days=1), False),
    ],
)
def test_the_link_expires_after_thirty_minutes(client, outbox, frozen_clock, later, works):
    UserFactory(email="lin@example.cn")
    frozen_clock(T0)
    forgot(client, "lin@example.cn")
    path = link_in(outbox[0])
    frozen_clock(T0 + later)
    assert (client.get(path).status_code == 200) is works
    assert (reset(client, path).status_code == 302) is works


def test_a_made_up_or_tampered_link_is_refused(client, outbox):
    UserFactory(email="lin@example.cn")
    forgot(client, "lin@example.cn")
    path = link_in(outbox[0])
    assert client.get("/password/reset/made-up").status_code == 404
    assert client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")).status_code == 404


def test_the_new_password_follows_the_rules(client, outbox):
    UserFactory(email="lin@example.cn")
    forgot(client, "lin@example.cn")
    path = link_in(outbox[0])
    short = reset(client, path, password="short")
    assert short.status_code == 200 and "8" in short.get_data(as_text=True)
    mismatch = reset(client, path, password=NEW, confirm="something else 1")
    assert "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    assert reset(client, path).status_code == 302  # the link was not spent by the errors


def test_resetting_ends_every_log_in(app, client, outbox):
    UserFactory(email="lin@example.cn")
    elsewhere = app.test_client()
    assert (
        elsewhere.post(
            "/login", data={"email": "lin@example.cn", "password": TEST_PASSWORD, "remember": "y"}
        ).status_code
        == 302
    )
    assert elsewhere.get("/account").status_code == 200
    forgot(client, "lin@example.cn")
    reset(client, link_in(outbox[0]))
    assert elsewhere.get("/account").status_code == 302  # sent to log in
    user = db.session.scalar(select(User).where(User.email == "lin@example.cn"))
    assert user.password_hash


def test_mails_per_address_are_limited_from_any_client(app, outbox):
    UserFactory(email="lin@example.cn")
    for n in range(5):
        assert forgot(app.test_client(), "lin@example.cn", ip=f"10.5.0.{n}").status_code == 302
    assert forgot(app.test_client(), "lin@example.cn", ip="10.5.1.1").status_code == 429
    assert len(outbox) == 5
    # another address is not held back by it
    assert forgot(app.test_client(), "other@example.cn", ip="10.5.1.2").status_code == 302


def test_posts_per_client_address_are_limited(app, outbox):
    client = app.test_client()
    for n in range(10):
        assert forgot(client, f"p{n}@example.cn", ip="10.6.0.1").status_code == 302
    assert forgot(client, "p99@example.cn", ip="10.6.0.1").status_code == 429


def test_a_link_used_by_another_request_meanwhile_sets_nothing(monkeypatch, client, outbox):
    """The loser of two submissions read the account before the winner changed it: its
    guarded UPDATE (``WHERE password_hash = <as read>``) changes no row, and it is told
    the link is used. (tests/integration/test_account_races.py runs it under gunicorn.)"""
    user = UserFactory(email="lin@example.cn")
    forgot(client, "lin@example.cn")
    token = link_in(outbox[0]).rsplit("/", 1)[1]
    read_it = recovery.reset_user

    def and_meanwhile(token):
        found = read_it(token)
        db.session.execute(
            update(User)
            .where(User.id == found.id)
            .values(password_hash=hash_password("the winner's 1"))
            .execution_options(synchronize_session=False)
        )
        return found

    monkeypatch.setattr(recovery, "reset_user", and_meanwhile)
    with pytest.raises(recovery.ResetLinkInvalid):
        recovery.reset_password(token, NEW)
    db.session.expire_all()
    assert password_matches(db.session.get(User, user.id), TEST_PASSWORD)
