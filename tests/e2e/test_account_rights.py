"""A citizen's account rights on a phone (390x844) in a real browser: a forgotten
password is reset through the mailed link, and an account is deleted while its orders
stay in ``report summary`` (issue 13, items 8 and 10)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import Role
from orders.ledger.models import Order
from orders.shop.fulfilment import confirm_receipt, ship_part

from ..conftest import TEST_PASSWORD
from ..factories import MembershipFactory, UserFactory
from ..order_factories import PaidOrderFactory
from ..vendor_factories import SellableProductFactory

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
EMAIL = "lin@example.cn"


def log_in(page, identifier: str, password: str) -> None:
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("邮箱或手机号").fill(identifier)
    form.get_by_label("密码", exact=True).fill(password)
    form.get_by_role("button", name="登录").click()


def summary(live) -> dict:
    result = live.app.test_cli_runner().invoke(args=["report", "summary", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_forgotten_password_is_reset_by_the_mailed_link(page, live_server):
    page.set_viewport_size(PHONE)
    live_server.run(lambda: UserFactory(email=EMAIL).id)
    page.goto("/login")
    page.get_by_role("link", name="忘记密码？").click()
    expect(page).to_have_url(re.compile("/password/forgot$"))
    page.locator("main form").get_by_label("注册邮箱").fill(EMAIL)
    with live_server.outbox() as mails:
        page.get_by_role("button", name="发送重设邮件").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("请查收邮件")
    [mail] = mails
    assert mail.recipients == [EMAIL]
    page.goto(live_server.link(mail, "/password/reset/"))
    form = page.locator("main form")
    form.get_by_label("新密码", exact=True).fill("椰林海风 2027")
    form.get_by_label("确认新密码").fill("椰林海风 2027")
    form.get_by_role("button", name="设置新密码").click()
    expect(page).to_have_url(re.compile("/login$"))
    expect(page.get_by_text("密码已重设")).to_be_visible()

    # the old password no longer works, the new one does
    log_in(page, EMAIL, TEST_PASSWORD)
    expect(page.get_by_text("账号或密码不正确")).to_be_visible()
    log_in(page, EMAIL, "椰林海风 2027")
    expect(page).not_to_have_url(re.compile("/login"))

    # the link was used once: it is refused now
    page.goto(live_server.link(mail, "/password/reset/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("链接无效")


def _buyer_with_a_delivered_order() -> dict:
    buyer = UserFactory(email=EMAIL, name="林小海")
    product = SellableProductFactory(price=1250, stock=10)
    order = PaidOrderFactory(buyer=buyer, items={product: 3})
    staff = MembershipFactory(org=product.vendor, role=Role.STAFF).user
    ship_part(staff, product.vendor, order.id, "顺丰速运", "SF1")
    confirm_receipt(buyer, order.id)
    return {"order": order.id, "total": order.total}


def test_a_deleted_account_leaves_its_orders_in_the_report(page, live_server):
    page.set_viewport_size(PHONE)
    data = live_server.run(_buyer_with_a_delivered_order)
    before = summary(live_server)

    log_in(page, EMAIL, TEST_PASSWORD)
    expect(page).not_to_have_url(re.compile("/login"))
    page.goto("/account/privacy")
    page.get_by_test_id("delete-account").click()
    expect(page).to_have_url(re.compile("/account/delete$"))
    form = page.locator("main form")
    form.get_by_label("当前密码").fill(TEST_PASSWORD)
    form.get_by_label("我明白注销后不能恢复").check()
    form.get_by_role("button", name="确认注销").click()
    expect(page.get_by_text("您的账号已注销")).to_be_visible()

    assert summary(live_server) == before

    def order_now() -> tuple:
        order = db.session.get(Order, data["order"])
        return order.total, order.recipient, order.phone, order.address, len(order.lines)

    assert live_server.run(order_now) == (data["total"], "已注销用户", None, None, 1)

    # the account cannot log in again
    log_in(page, EMAIL, TEST_PASSWORD)
    expect(page.get_by_text("账号或密码不正确")).to_be_visible()
