"""The foundation seen through a browser: the Chinese home page and the language menu,
registering and logging in through the real forms (with CSRF), and the household
register open to the bureau only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.models import OrgKind

from ..factories import HouseholdFactory, UserFactory, member_of

pytestmark = pytest.mark.e2e

ENGLISH_CATALOG = (
    Path(__file__).resolve().parents[2] / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
)


def test_home_page_renders_in_chinese(page):
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title(re.compile("消费帮扶"))
    expect(page.locator(".navbar-brand")).to_have_text("消费帮扶商城")
    expect(page.get_by_role("heading", level=1)).to_have_text("以购代捐，以买代帮")
    # Bootstrap came from our own static files and styled the page: a green navbar.
    expect(page.locator("nav.navbar")).to_have_css("background-color", "rgb(25, 135, 84)")
    # The language menu offers both languages (small POST forms); Bootstrap opens it.
    page.locator(".navbar").get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("button", name="English")).to_be_visible()


@pytest.mark.skipif(
    not ENGLISH_CATALOG.exists(),
    reason="no compiled English catalog (translations/en/LC_MESSAGES/messages.mo): "
    "run `make translations`",
)
def test_language_menu_switches_to_english(page):
    page.goto("/")
    page.locator(".navbar").get_by_role("button", name="简体中文").click()
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    brand = page.locator(".navbar-brand")
    expect(brand).not_to_have_text("消费帮扶商城")
    expect(brand).to_have_text(re.compile("[A-Za-z]"))
    # The choice is remembered (cookie) on the next page.
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".navbar").get_by_role("button", name="English")).to_be_visible()


def test_citizen_registers_logs_out_and_logs_in_again(page, live_server, browser_auth):
    page.goto("/")
    page.locator("main").get_by_role("link", name="注册账号").click()
    expect(page).to_have_url(re.compile("/register$"))
    form = page.locator("main form")
    form.get_by_label("邮箱").fill("xiaoming@example.cn")
    form.get_by_label("姓名").fill("王小明")
    form.get_by_label("手机号（选填）").fill("13800138000")
    form.get_by_label("密码", exact=True).fill("椰林海风 2026")
    form.get_by_label("确认密码").fill("椰林海风 2026")
    form.get_by_label("我已阅读并同意").check()
    with live_server.outbox() as mails:
        form.get_by_role("button", name="注册").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("请查收邮件")
    page.goto(live_server.link(mails[0], "/register/confirm/"))
    page.locator("main").get_by_role("button", name="完成注册").click()

    expect(page.get_by_role("alert")).to_contain_text("注册成功，欢迎！")
    expect(page.get_by_test_id("user-menu")).to_contain_text("王小明")
    expect(page.locator(".navbar").get_by_role("link", name="登录")).to_have_count(0)

    browser_auth.logout()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    expect(page.locator(".navbar").get_by_role("link", name="登录")).to_be_visible()

    browser_auth.login("xiaoming@example.cn", "椰林海风 2026")
    expect(page).to_have_url(re.compile("/$"))
    expect(page.get_by_test_id("user-menu")).to_contain_text("王小明")


def test_wrong_password_is_refused(page, live_server, browser_auth):
    email = live_server.run(lambda: UserFactory(name="李市民").email)
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("邮箱").fill(email)
    form.get_by_label("密码", exact=True).fill("not the password")
    form.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)


def _register_with_one_household() -> dict[str, str]:
    household = HouseholdFactory(head_name="符亚华", code="460100000123")
    return {
        "code": household.code,
        "bureau": member_of(OrgKind.BUREAU, name="海口市乡村振兴局").email,
        "citizen": UserFactory(name="李市民").email,
    }


def test_bureau_member_sees_household_register(page, live_server, browser_auth):
    data = live_server.run(_register_with_one_household)
    browser_auth.login(data["bureau"])
    navbar = page.locator(".navbar")
    navbar.get_by_role("button", name="乡村振兴局", exact=True).click()
    navbar.get_by_role("link", name="建档立卡户").click()
    expect(page).to_have_url(re.compile("/bureau/households"))
    table = page.get_by_test_id("household-table")
    expect(table).to_contain_text(data["code"])
    expect(table).to_contain_text("符亚华")


def test_citizen_gets_403_on_household_register(page, live_server, browser_auth):
    data = live_server.run(_register_with_one_household)
    browser_auth.login(data["citizen"])
    expect(page.locator(".navbar")).not_to_contain_text("乡村振兴局")
    response = page.goto("/bureau/households")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("error-message")).to_have_text("您没有权限访问此页面。")
    body = page.locator("body")
    expect(body).not_to_contain_text(data["code"])
    expect(body).not_to_contain_text("符亚华")
