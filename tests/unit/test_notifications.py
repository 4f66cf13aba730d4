"""Notifications that reach people (issue 14, item 3): a new paid order and stock below
its threshold reach the vendor's staff (inbox with an unread count, and e-mail); the
bureau's certification decisions reach the vendor; certificate reminders go out once
each at 90, 30 and 7 days and on expiry (with a text message for the last two), the
bureau gets the day's list, and running `certifications remind` again sends nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from catalog.certification import reject_certification
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.notifications.services import Notice, notify_users

from ..catalog_factories import CertificationFactory
from ..factories import UserFactory
from .test_fulfilment import bureau_staff, paid_order, staff_of
from .test_shop_core import stocked_product


def inbox_of(user) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_a_new_paid_order_reaches_the_vendor_inbox_and_mail(client, auth, caplog):
    apples = stocked_product(30, price=1000)
    staff = staff_of(apples.vendor)
    other = staff_of(stocked_product(5).vendor)
    buyer = UserFactory()
    with caplog.at_level(logging.INFO, logger="marketplace.mail"):
        order = paid_order(buyer, {apples: 2}, "n-1")
    [notice] = inbox_of(staff)
    assert notice.kind == "order.paid" and order.number in notice.title
    assert "× 2" in notice.body
    assert inbox_of(other) == [] and inbox_of(buyer) == []
    assert any(
        staff.email in r.getMessage() and order.number in r.getMessage() for r in caplog.records
    )

    auth.login(staff.email, follow=False)
    page = client.get("/inbox").text
    assert 'data-testid="unread-count">1<' in page and order.number in page
    opened = client.post(f"/inbox/{notice.id}")
    assert opened.headers["Location"].endswith(f"/vendor/orders/{order.id}")
    assert inbox_of(staff)[0].read_at is not None
    assert 'data-testid="unread-count"' not in client.get("/inbox").text
    assert client.post(f"/inbox/{notice.id + 1000}").status_code == 404


def test_another_users_notice_cannot_be_opened(client, auth):
    owner, stranger = UserFactory(), UserFactory()
    notify_users([owner], Notice("test", lambda: ("你好", "")))
    [notice] = inbox_of(owner)
    auth.login(stranger.email)
    assert client.post(f"/inbox/{notice.id}").status_code == 404
    assert inbox_of(owner)[0].read_at is None


def test_a_sale_that_leaves_stock_below_the_threshold_tells_the_vendor_once_a_day():
    apples = stocked_product(12, price=1000)  # threshold 10 by default
    staff = staff_of(apples.vendor)
    buyer = UserFactory()
    paid_order(buyer, {apples: 1}, "low-1")  # 11 left: fine
    assert [n.kind for n in inbox_of(staff)] == ["order.paid"]
    paid_order(buyer, {apples: 2}, "low-2")  # 9 left
    paid_order(buyer, {apples: 1}, "low-3")  # 8 left: already told today
    kinds = [n.kind for n in inbox_of(staff)]
    assert kinds.count("stock.low") == 1 and kinds.count("order.paid") == 3
    low = next(n for n in inbox_of(staff) if n.kind == "stock.low")
    assert "可售 9" in low.title


def test_a_certification_decision_reaches_the_vendor():
    cert = CertificationFactory(status="pending")
    staff = staff_of(cert.product.vendor)
    bureau = bureau_staff()
    reject_certification(bureau, bureau.memberships[0].org, cert.id, "检测报告不清晰")
    [notice] = inbox_of(staff)
    assert notice.kind == "certification.decision"
    assert "未通过" in notice.title and "检测报告不清晰" in notice.body


def test_reminders_go_out_once_each_at_90_30_7_days_and_on_expiry(app, runner, caplog):
    today = local_today()
    cert = CertificationFactory(valid_until=today + timedelta(days=90))
    renewed = CertificationFactory(valid_until=today + timedelta(days=30))
    CertificationFactory(  # the renewal runs longer: the old certificate is not reminded
        product=renewed.product, valid_until=today + timedelta(days=400)
    )
    staff = staff_of(cert.product.vendor)
    cert.product.vendor.contact_phone = "13900000000"
    db.session.commit()
    renewed_staff = staff_of(renewed.product.vendor)
    reviewer = bureau_staff()

    def remind(day):
        result = runner.invoke(args=["certifications", "remind", "--today", day.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    def reminders():
        return [
            n.key.rsplit(":", 1)[1] for n in inbox_of(staff) if n.kind == "certification.expiry"
        ]

    assert remind(today) == "sent 1 reminder(s) to 1 vendor(s); bureau staff told: 1"
    assert reminders() == ["90"]
    assert remind(today) == "sent 0 reminder(s) to 0 vendor(s); bureau staff told: 0"
    assert remind(today + timedelta(days=1)).startswith("sent 0")  # still the 90-day band
    remind(today + timedelta(days=60))
    assert reminders() == ["90", "30"]
    with caplog.at_level(logging.INFO, logger="marketplace.notifications.sms"):
        remind(today + timedelta(days=83))
        remind(today + timedelta(days=83))
    assert reminders() == ["90", "30", "7"]
    texts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sms")]
    assert len(texts) == 1 and "13900000000" in texts[0] and "7 天" in texts[0]
    remind(today + timedelta(days=91))  # the day after the last valid day
    remind(today + timedelta(days=92))
    assert reminders() == ["90", "30", "7", "expired"]
    assert "已过期" in inbox_of(staff)[-1].title

    assert inbox_of(renewed_staff) == []
    digests = [n for n in inbox_of(reviewer) if n.kind == "certification.expiry_list"]
    assert len(digests) == 4 and cert.product.name in digests[0].body
