"""Account races through the real HTTP routes under gunicorn (issue 13, items 8-10): one
reset link submitted from several tabs at once sets one password; two accounts entering
their codes for the same phone at once leave one verified; a double-clicked "delete my
account" deletes once. Never a 500."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.accounts import phone, recovery, services
from marketplace.accounts.models import PhoneCode
from marketplace.extensions import db
from marketplace.models import AuditEntry, User, utcnow

from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import UserFactory
from .live_server import SERVER_ENV, Browser, LiveServer, concurrently, value

pytestmark = [requires_postgres, pytest.mark.postgres]

NUMBER = "13912345678"


@pytest.fixture
def as_live_server(app, monkeypatch):
    """Sign links and hash codes with the live server's key, as it would."""
    monkeypatch.setitem(app.config, "SECRET_KEY", SERVER_ENV["SECRET_KEY"])


def no_server_errors(server: LiveServer, responses) -> None:
    codes = [r.status_code for r in responses]
    assert all(code < 500 for code in codes), f"{codes}\n{server.log()[-6000:]}"


def audits(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_one_reset_link_from_six_tabs_at_once_sets_one_password(live_server, as_live_server):
    user = UserFactory()
    token = recovery._serializer().dumps({"u": user.id, "f": recovery._fingerprint(user)})
    path = f"/password/reset/{token}"
    visitor = live_server.browser()
    visitor.csrf = value(visitor.get(path).text, "csrf_token")
    tabs = [visitor.clone() for _ in range(6)]
    passwords = [f"new password {n} ok" for n in range(6)]

    responses = concurrently(
        [
            partial(tab.post, path, {"password": p, "confirm": p})
            for tab, p in zip(tabs, passwords, strict=True)
        ]
    )

    no_server_errors(live_server, responses)
    assert sorted(r.status_code for r in responses) == [302] + [404] * 5
    [winner] = [p for p, r in zip(passwords, responses, strict=True) if r.status_code == 302]
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert [p for p in passwords if services.password_matches(fresh, p)] == [winner]
    assert audits("user.reset_password") == 1


def test_two_accounts_verifying_one_number_at_once_leave_one_verified(live_server, as_live_server):
    users = [UserFactory(), UserFactory()]
    for user in users:
        db.session.add(
            PhoneCode(
                user_id=user.id,
                phone=NUMBER,
                code_hash=phone._code_hash("123456", user.id, NUMBER),
                attempts=0,
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(minutes=10),
            )
        )
    db.session.commit()
    browsers = [Browser(live_server.base_url).login(u.email, TEST_PASSWORD) for u in users]

    responses = concurrently(
        [partial(b.post, "/account/phone/code", {"code": "123456"}) for b in browsers]
    )

    no_server_errors(live_server, responses)
    assert sorted(r.status_code for r in responses) == [200, 302]
    loser = next(r for r in responses if r.status_code == 200)
    assert "已被另一个账号验证" in loser.text
    assert (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.phone == NUMBER, User.phone_verified_at.is_not(None)
            )
        )
        == 1
    )


def test_a_double_clicked_deletion_deletes_once(live_server):
    user = UserFactory()
    browser = Browser(live_server.base_url).login(user.email, TEST_PASSWORD)
    tabs = [browser.clone() for _ in range(4)]
    form = {"password": TEST_PASSWORD, "confirm": "y"}

    responses = concurrently([partial(tab.post, "/account/delete", form) for tab in tabs])

    no_server_errors(live_server, responses)
    assert 302 in {r.status_code for r in responses}
    assert audits("user.delete") == 1
    db.session.expire_all()
    assert db.session.get(User, user.id).deleted_at is not None
