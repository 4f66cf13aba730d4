"""Agency procurement in a real browser: the buyer builds and submits an order, the
approver approves, the vendor confirms and ships, the buyer accepts with a shortfall, the
vendor invoices, the agency records its transfer, the quota bar moves, and the printed
purchase order carries the amount in Chinese capitals (大写)."""

from __future__ import annotations

import pytest

from marketplace.clock import local_today
from orders.procurement import quotas

from .. import procurement_helpers as h

pytestmark = pytest.mark.e2e


def arrange() -> dict:
    ag, ven = h.agency("海口市教育局"), h.vendor()
    h.product(ven, name="火山荔枝", sku="LZ-E2E")
    quotas.declare_quota(ag.admin, ag.org, quotas.QuotaInput(local_today().year, 1_000_000, 1000))
    return {
        "buyer": ag.buyer.email,
        "approver": ag.approver.email,
        "vendor": ven.staff.email,
    }


def step(page, name: str) -> None:
    page.get_by_test_id(f"step-{name}").get_by_role("button").click()
    page.get_by_text("操作成功。").wait_for()


def test_an_order_from_basket_to_payment(page, live_server, browser_auth):
    people = live_server.run(arrange)

    browser_auth.login(people["buyer"])
    page.goto("/procurement")
    assert page.get_by_test_id("percent").inner_text() == "0.00%"
    page.goto("/procurement/catalogue")
    row = page.locator("tr[data-sku='LZ-E2E']")
    row.get_by_label("数量").fill("25")
    row.get_by_role("button", name="加入清单").click()
    assert page.get_by_test_id("basket-total").inner_text() == "¥1,550.00"
    form = page.get_by_test_id("submit-form")
    form.get_by_label("送货地址").fill("龙华区滨海大道1号 机关食堂")
    form.get_by_label("联系电话").fill("13800000000")
    form.get_by_role("button", name="提交审批").click()
    page.get_by_test_id("orders").get_by_role("link").first.click()
    order_url = page.url
    browser_auth.logout()

    browser_auth.login(people["approver"])
    page.goto(order_url)
    step(page, "approve")
    browser_auth.logout()

    browser_auth.login(people["vendor"])
    page.goto("/procurement")
    page.get_by_test_id("vendor-orders").get_by_role("link").first.click()
    step(page, "confirm")
    page.get_by_test_id("ship").click()
    page.get_by_text("操作成功。").wait_for()
    browser_auth.logout()

    browser_auth.login(people["buyer"])
    page.goto(order_url)
    page.get_by_label("实收数量").fill("24")
    page.get_by_test_id("accept").click()
    page.get_by_text("操作成功。").wait_for()
    assert page.get_by_test_id("accepted-total").inner_text() == "¥1,488.00"
    browser_auth.logout()

    browser_auth.login(people["vendor"])
    page.goto(order_url)
    invoice = page.get_by_test_id("invoice-form")
    invoice.get_by_label("发票号码").fill("No46000001")
    invoice.get_by_label("纳税人识别号").fill("11460100MB0000000X")
    invoice.get_by_role("button").click()
    page.get_by_text("操作成功。").wait_for()
    browser_auth.logout()

    browser_auth.login(people["buyer"])
    page.goto(order_url)
    pay = page.get_by_test_id("pay-form")
    pay.get_by_label("转账流水号").fill("HX-E2E-1")
    pay.get_by_role("button").click()
    page.get_by_text("操作成功。").wait_for()
    assert page.get_by_test_id("status").inner_text() == "已付款"

    page.goto("/procurement")
    # reserved 1,000.00 (10% of 10,000.00), paid 1,488.00: 148.80%
    assert page.get_by_test_id("percent").inner_text() == "148.80%"
    assert page.get_by_test_id("quota-bar").get_attribute("aria-valuenow") == "100"

    page.goto(order_url + "/print")
    assert page.get_by_test_id("amount-capitals").inner_text() == "人民币壹仟伍佰伍拾元整"
