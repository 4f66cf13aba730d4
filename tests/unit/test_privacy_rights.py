"""Personal information rights (PIPL, issue 13, item 10): the privacy policy, versioned
and edited by the bureau; consent recorded at registration; "download my data"; "delete
my account", which keeps the orders (and every report figure) but not the person."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts import privacy
from marketplace.accounts.models import Consent, PolicyVersion
from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import Address, AuditEntry, LoginSession, OrgKind, Role, User
from marketplace.notifications.models import Notification
from orders.ledger.models import Order
from orders.shop.fulfilment import confirm_receipt, ship_part
from orders.shop.models import CartItem

from ..conftest import TEST_PASSWORD
from ..factories import MembershipFactory, UserFactory, member_of
from ..order_factories import PaidOrderFactory, PendingOrderFactory
from ..vendor_factories import SellableProductFactory

FORM = {
    "email": "lin@example.cn",
    "name": "林小海",
    "password": "long enough 1",
    "confirm": "long enough 1",
    "agree": "y",
}


def link_in(message) -> str:
    [url] = re.findall(r"http://localhost(/register/confirm/\S+)", message.body)
    return url


def register(client, outbox, **overrides) -> User | None:
    response = client.post("/register", data={**FORM, **overrides})
    if response.status_code != 302:
        return None
    client.post(link_in(outbox[-1]))
    return db.session.scalar(select(User).where(User.email == FORM["email"]))


def logged_in(app, user):
    client = app.test_client()
    assert (
        client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code
        == 302
    )
    return client


def delivered_order(buyer, quantity: int = 2) -> Order:
    product = SellableProductFactory(price=1250)
    order = PaidOrderFactory(buyer=buyer, items={product: quantity})
    staff = MembershipFactory(org=product.vendor, role=Role.STAFF).user
    ship_part(staff, product.vendor, order.id, "顺丰速运", "SF1")
    confirm_receipt(buyer, order.id)
    db.session.refresh(order)
    return order


def summary(runner) -> dict:
    result = runner.invoke(args=["report", "summary", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# ---- the policy and consent ----


def test_the_policy_page_shows_the_version_in_force_in_chinese_and_english(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert "隐私政策和用户协议" in page and "第 1 版" in page and "现行版本" in page
    client.set_cookie("lang", "en")
    english = client.get("/privacy").get_data(as_text=True)
    assert "Privacy Policy and User Agreement" in english


def test_every_page_links_to_the_policy(client):
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


def test_registration_refuses_without_the_checkbox(client, outbox):
    page = client.post("/register", data={**FORM, "agree": ""})
    assert page.status_code == 200
    assert "请阅读并同意隐私政策和用户协议" in page.get_data(as_text=True)
    assert outbox == []
    with pytest.raises(ValidationError):
        from marketplace.accounts.services import request_registration

        request_registration(email="x@example.cn", password="long enough 1", name="x")


def test_consent_is_recorded_with_its_version_and_time(client, outbox, frozen_clock):
    from datetime import UTC, datetime

    frozen_clock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    user = register(client, outbox)
    [consent] = db.session.scalars(select(Consent).where(Consent.user_id == user.id))
    assert consent.policy_version == 1 and consent.how == "register"
    assert consent.agreed_at == datetime(2026, 6, 1, 2, 0)
    assert "第 1 版" in client.get("/account/privacy").get_data(as_text=True)


def test_the_bureau_publishes_a_new_version_which_registrations_then_agree_to(app, client, outbox):
    staff = member_of(OrgKind.BUREAU, Role.STAFF)
    bureau = logged_in(app, staff)
    form = bureau.get("/bureau/privacy").get_data(as_text=True)
    assert "现行版本：第 1 版" in form
    response = bureau.post(
        "/bureau/privacy",
        data={"body_zh": "# 新政策\n第二版正文", "body_en": "# New policy\nSecond", "note": "改"},
    )
    assert response.status_code == 302
    page = client.get("/privacy").get_data(as_text=True)
    assert "新政策" in page and "第 2 版" in page
    assert "第 1 版" in client.get("/privacy?version=1").get_data(as_text=True)
    assert client.get("/privacy?version=9").status_code == 404
    user = register(client, outbox)
    assert db.session.scalar(select(Consent.policy_version).where(Consent.user_id == user.id)) == 2
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "policy.publish"))
    history = bureau.get("/bureau/privacy").get_data(as_text=True)
    assert "第 2 版" in history and "系统内置文本" in history


def test_only_the_bureau_edits_the_policy(app):
    citizen = logged_in(app, UserFactory())
    assert citizen.get("/bureau/privacy").status_code == 403
    vendor = logged_in(app, member_of(OrgKind.COOPERATIVE, Role.ADMIN))
    assert vendor.post("/bureau/privacy", data={"body_zh": "x", "body_en": "y"}).status_code == 403
    assert db.session.scalar(select(func.count(PolicyVersion.id))) == 0


def test_a_person_agrees_to_a_newer_version(app):
    user = UserFactory()
    db.session.add(Consent(user_id=user.id, policy_version=1, how="register"))
    db.session.commit()
    staff = member_of(OrgKind.BUREAU, Role.ADMIN)
    privacy.publish_policy(staff, staff.memberships[0].org, body_zh="二", body_en="two")
    client = logged_in(app, user)
    assert "已更新到第 2 版" in client.get("/account/privacy").get_data(as_text=True)
    client.post("/account/privacy/agree", data={"version": "2"})
    assert not privacy.needs_consent(user)
    assert "已更新到" not in client.get("/account/privacy").get_data(as_text=True)


# ---- download my data ----


def test_download_my_data_holds_everything_personal(app):
    user = UserFactory(name="林小海", phone="13912345678")
    db.session.add(
        Address(
            user_id=user.id,
            recipient="林小海",
            phone="13912345678",
            province="海南省",
            city="海口市",
            district="龙华区",
            detail="滨海大道1号",
            is_default=True,
        )
    )
    db.session.add(Consent(user_id=user.id, policy_version=1, how="register"))
    db.session.add(Notification(user_id=user.id, kind="test", title="您的订单已发货", body="b"))
    db.session.commit()
    order = delivered_order(user)
    product = SellableProductFactory()
    db.session.add(CartItem(user_id=user.id, product_id=product.id, quantity=3))
    db.session.commit()
    client = logged_in(app, user)
    response = client.get("/account/privacy/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    assert data["profile"]["email"] == user.email and data["profile"]["phone"] == "13912345678"
    assert data["addresses"][0]["detail"] == "滨海大道1号"
    assert data["consents"][0]["policy_version"] == 1
    assert data["notifications"][0]["title"] == "您的订单已发货"
    [exported] = data["orders"]
    assert exported["number"] == order.number and exported["total_fen"] == order.total
    assert exported["recipient"] == "李市民" and exported["address"]
    [line] = exported["lines"]
    assert line["quantity"] == 2 and line["unit_price_fen"] == 1250 and line["product"]
    assert exported["parts"][0]["carrier"] == "顺丰速运"
    assert data["cart"][0]["quantity"] == 3
    assert data["logins"] and data["activity"]


def test_download_needs_a_login_and_shows_only_ones_own(app, client):
    assert client.get("/account/privacy/export").status_code == 302
    other = UserFactory()
    delivered_order(other)
    data = json.loads(logged_in(app, UserFactory()).get("/account/privacy/export").data)
    assert data["orders"] == []


# ---- delete my account ----


def test_deleting_keeps_the_orders_and_the_report_summary(app, runner):
    buyer = UserFactory(email="lin@example.cn", phone="13912345678")
    order = delivered_order(buyer, quantity=3)
    other = delivered_order(UserFactory())
    before = summary(runner)
    client = logged_in(app, buyer)
    response = client.post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    assert summary(runner) == before
    db.session.expire_all()
    kept = db.session.get(Order, order.id)
    assert kept.total == order.total and len(kept.lines) == 1
    assert kept.buyer_user_id == buyer.id
    assert kept.recipient == "已注销用户" and kept.phone is None and kept.address is None
    assert db.session.get(Order, other.id).recipient == "李市民"
    gone = db.session.get(User, buyer.id)
    assert gone.email != "lin@example.cn" and gone.name == "已注销用户"
    assert gone.phone is None and not gone.active and gone.deleted_at is not None


def test_a_deleted_user_cannot_log_in_and_every_log_in_ends(app, outbox):
    user = UserFactory(email="lin@example.cn")
    db.session.add(
        Address(
            user_id=user.id,
            recipient="林",
            phone="13912345678",
            province="海南省",
            city="海口市",
            district="龙华区",
            detail="x",
        )
    )
    db.session.commit()
    elsewhere = logged_in(app, user)
    client = logged_in(app, user)
    client.post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    assert elsewhere.get("/account").status_code == 302
    assert client.get("/account").status_code == 302
    login = app.test_client().post(
        "/login", data={"email": "lin@example.cn", "password": TEST_PASSWORD}
    )
    assert login.status_code == 200
    assert db.session.scalar(select(func.count(LoginSession.id))) == 0
    assert db.session.scalar(select(func.count(Address.id))) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.delete"))
    assert entry is not None and "lin@example.cn" not in entry.actor_label
    assert not db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.actor_label == "lin@example.cn")
    )


def test_the_email_can_register_again(app, client, outbox):
    user = UserFactory(email="lin@example.cn")
    logged_in(app, user).post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    again = register(client, outbox)
    assert again is not None and again.id != user.id and again.active


def test_deleting_needs_the_password_and_the_confirmation(app):
    user = UserFactory()
    client = logged_in(app, user)
    page = client.post("/account/delete", data={"password": "wrong", "confirm": "y"})
    assert "密码不正确" in page.get_data(as_text=True)
    client.post("/account/delete", data={"password": TEST_PASSWORD})
    db.session.expire_all()
    assert db.session.get(User, user.id).deleted_at is None


def test_an_unpaid_order_stands_in_the_way(app):
    buyer = UserFactory()
    order = PendingOrderFactory(buyer=buyer)
    client = logged_in(app, buyer)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "暂时不能注销" in page and order.number in page and "尚未付款" in page
    client.post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    db.session.expire_all()
    assert db.session.get(User, buyer.id).deleted_at is None


def test_a_part_not_yet_delivered_stands_in_the_way(app):
    buyer = UserFactory()
    order = PaidOrderFactory(buyer=buyer)
    with pytest.raises(privacy.AccountNotDeletable) as refused:
        privacy.delete_account(buyer, TEST_PASSWORD)
    assert any(order.number in reason and "未送达" in reason for reason in refused.value.reasons)


def test_an_organization_member_is_told_to_leave_first(app):
    staff = member_of(OrgKind.COOPERATIVE, Role.STAFF)
    with pytest.raises(privacy.AccountNotDeletable) as refused:
        privacy.delete_account(staff, TEST_PASSWORD)
    assert "成员" in refused.value.reasons[0]


def test_the_export_holds_exactly_the_documented_keys(app):
    from .test_formats_doc import DOC_PATH, first_table, sections

    body = sections(DOC_PATH.read_text(encoding="utf-8"))["Download my data (JSON)"]
    documented = [row["key"].strip("`") for row in first_table(body)]
    data = json.loads(logged_in(app, UserFactory()).get("/account/privacy/export").data)
    assert list(data) == documented


def test_invoices_and_restock_alerts_are_exported_and_erased(app):
    from catalog import restock
    from catalog.models import RestockAlert
    from orders.shop.invoices import InvoiceDetails, request_invoice
    from orders.shop.models import InvoiceRequest

    from .test_restock_alerts import sold_out as sold_out_product

    buyer = UserFactory(email="lin@example.cn")
    order = delivered_order(buyer)
    request_invoice(
        buyer,
        order.id,
        order.shipments[0].id,
        InvoiceDetails("personal", "林小海", "", "lin-invoice@example.cn"),
    )
    sold_out = sold_out_product()
    restock.subscribe(buyer, sold_out.id)
    client = logged_in(app, buyer)

    data = json.loads(client.get("/account/privacy/export").data)
    [invoice] = data["orders"][0]["invoices"]
    assert invoice["title"] == "林小海" and invoice["email"] == "lin-invoice@example.cn"
    assert data["restock_alerts"][0]["product"] == sold_out.name

    response = client.post("/account/delete", data={"password": TEST_PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    kept = db.session.scalars(select(InvoiceRequest)).one()
    assert kept.order_id == order.id  # the vendor's record stays
    assert kept.title == "已注销用户" and kept.email == "已注销用户" and kept.tax_id is None
    alerts = db.session.scalar(
        select(func.count(RestockAlert.id)).where(RestockAlert.user_id == buyer.id)
    )
    assert alerts == 0
