"""A fair stall on a phone (390x844) in a real browser: vendor staff open the stall page,
record three sales with different payment methods, lose the connection, record two more
(they wait on the phone), get the connection back and see them sync once; void one; the
organizer closes the fair and its totals show."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.fairs import fairs, stalls
from orders.fairs.models import StallSale

from ..conftest import TEST_PASSWORD
from ..factories import MembershipFactory, OrgFactory, member_of
from ..vendor_factories import SellableProductFactory
from .conftest import DEFAULT_TIMEOUT_MS, SCREENSHOTS, BrowserAuth, PageProblems

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def arrange() -> dict:
    boss = member_of(OrgKind.FAIR_ORGANIZER, Role.STAFF, name="海口市爱心集市办")
    org = boss.memberships[0].org
    vendor = OrgFactory(kind=OrgKind.COOPERATIVE, name="椰乡合作社")
    seller = MembershipFactory(org=vendor, role=Role.STAFF).user
    product = SellableProductFactory(vendor=vendor, stock=30, price=2500, name="妃子笑荔枝")
    fair = fairs.plan_fair(
        boss, org, fairs.FairPlan("万绿园爱心集市", local_today(), "万绿园", "龙华区")
    )
    stall = fairs.apply_for_stall(seller, vendor, fair.id, "椰乡摊")
    fairs.admit_stall(boss, org, stall.id)
    stalls.move_to_stall(seller, vendor, fair.id, product.id, 20)
    fairs.open_fair(boss, org, fair.id)
    return {"boss": boss.email, "seller": seller.email, "fair": fair.id}


def watched(context, problems: PageProblems, origin: str):
    def block(route) -> None:
        problems.blocked_requests.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith((origin, "data:", "about:", "blob:")), block)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Content Security Policy" in m.text
            and problems.csp_violations.append(m.text)
        ),
    )
    return page


@pytest.fixture
def phone(browser, live_server) -> Iterator:
    """A phone-sized context with service workers allowed (the stall page needs one)."""
    problems = PageProblems()
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = watched(context, problems, live_server.url + "/")
    yield context, page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "fair_stall_phone.png"), full_page=True)
    context.close()
    assert problems.summary() == ""


def phone_login(page, email: str) -> None:
    """Log in through the form; on a phone the menu holding the user's name is folded,
    so wait for it to be in the page rather than visible."""
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("邮箱").fill(email)
    form.get_by_label("密码", exact=True).fill(TEST_PASSWORD)
    form.get_by_role("button", name="登录").click()
    page.get_by_test_id("user-menu").wait_for(state="attached")


def sell(page, quantity: int, method: str) -> None:
    page.get_by_test_id("product").first.click()
    page.get_by_test_id("qty").fill(str(quantity))
    page.get_by_test_id(f"pay-{method}").click()
    page.get_by_test_id("confirm-sale").click()


def sales_in(page, state: str):
    return page.locator(f"[data-testid=sale][data-state={state}]")


def test_a_stall_sells_offline_syncs_once_voids_and_the_organizer_closes(
    phone, browser, live_server
):
    arranged = live_server.run(arrange)
    context, page = phone
    phone_login(page, arranged["seller"])
    page.goto(f"/vendor/fairs/{arranged['fair']}/stall")
    page.get_by_test_id("product").first.wait_for()
    assert page.get_by_test_id("connection").inner_text() == "在线"

    # three sales online, each paid differently
    for n, (quantity, method) in enumerate([(1, "cash"), (2, "wechat"), (1, "alipay")], 1):
        sell(page, quantity, method)
        sales_in(page, "synced").nth(n - 1).wait_for()
    assert page.get_by_test_id("stall-total").inner_text() == "100.00"
    assert page.get_by_test_id("pending-count").inner_text() == "0"
    # the service worker now controls the page (it keeps the page for offline use)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")

    # the signal goes: two more sales wait on the phone
    context.set_offline(True)
    page.get_by_test_id("connection").filter(has_text="离线").wait_for()
    sell(page, 1, "cash")
    sell(page, 1, "wechat")
    assert page.get_by_test_id("pending-count").inner_text() == "2"
    assert sales_in(page, "pending").count() == 2
    assert page.get_by_test_id("stall-total").inner_text() == "150.00"
    # the page still opens without a connection, from the service worker's cache
    page.reload()
    page.get_by_test_id("product").first.wait_for()
    assert page.get_by_test_id("pending-count").inner_text() == "2"
    assert live_server.run(lambda: db.session.scalar(select(func.count(StallSale.id)))) == 3

    # the signal comes back: they sync, once each
    context.set_offline(False)
    page.get_by_test_id("pending-count").filter(has_text=re.compile("^0$")).wait_for()
    expect_synced = sales_in(page, "synced")
    expect_synced.nth(4).wait_for()
    assert expect_synced.count() == 5
    assert live_server.run(lambda: db.session.scalar(select(func.count(StallSale.id)))) == 5
    assert page.get_by_test_id("stall-total").inner_text() == "150.00"

    # void the last sale (1 unit, WeChat) with a reason
    page.get_by_test_id("void").first.click()
    page.get_by_test_id("void-reason").fill("顾客退货")
    page.get_by_test_id("confirm-void").click()
    sales_in(page, "voided").first.wait_for()
    assert page.get_by_test_id("stall-total").inner_text() == "125.00"

    # the organizer closes the fair; the totals show, by payment method too
    organizer = browser.new_context(base_url=live_server.url, locale="zh-CN")
    organizer.set_default_timeout(DEFAULT_TIMEOUT_MS)
    desk = organizer.new_page()
    BrowserAuth(desk).login(arranged["boss"])
    desk.goto(f"/organizer/fairs/{arranged['fair']}")
    desk.get_by_test_id("close-fair").click()
    desk.get_by_text("集市已闭市").first.wait_for()
    assert desk.get_by_test_id("fair-status").inner_text() == "已闭市"
    assert desk.get_by_test_id("fair-amount").inner_text() == "125.00"
    rows = desk.get_by_test_id("by-payment")
    assert "50.00" in rows.locator("[data-method=cash]").inner_text()
    assert "50.00" in rows.locator("[data-method=wechat]").inner_text()
    assert "25.00" in rows.locator("[data-method=alipay]").inner_text()
    organizer.close()
    # the phone now says the fair is closed
    page.reload()
    page.get_by_test_id("closed-note").wait_for()
