"""E-invoices on a phone (390x844) in a real browser: the buyer of a paid order asks for
a company invoice from the order page, the vendor finds the request in its list, records
the number and uploads the PDF, and the buyer downloads it from the order page. On the
way, the product page keeps its buy bar on screen at phone width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketplace.models import OrgKind, Role
from orders.shop.checkout import Delivery, place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory, member_of
from ..vendor_factories import SellableProductFactory
from .conftest import DEFAULT_TIMEOUT_MS, SCREENSHOTS, PageProblems
from .test_fair_stall import PHONE, watched

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CREDIT_CODE = "91350100M000100Y43"


def arrange() -> dict:
    staff = member_of(OrgKind.COOPERATIVE, Role.STAFF, name="石岭荔枝专业合作社")
    product = SellableProductFactory(
        vendor=staff.memberships[0].org, stock=20, price=1250, name="妃子笑荔枝"
    )
    buyer = UserFactory(name="李市民")
    order = place_order(
        buyer,
        {product.id: 2},
        Delivery("address", "李市民", "13800000000", "海南省海口市龙华区滨海大道1号"),
        "e2e-invoice-order",
    )
    assert complete_payment("test", start_payment(order).reference).status == "paid"
    gone = SellableProductFactory(vendor=product.vendor, stock=1, name="百花蜂蜜")
    stock.sell([stock.Goods(gone.id, 1)], stock.Ref("e2e"))
    return {
        "sold_out": gone.id,
        "buyer": buyer.email,
        "vendor": staff.email,
        "order": order.id,
        "number": order.number,
        "product": product.id,
    }


@pytest.fixture
def phone(browser, live_server) -> Iterator:
    problems = PageProblems()
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        service_workers="block",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = watched(context, problems, live_server.url + "/")
    yield context, page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "invoices_phone.png"), full_page=True)
    context.close()
    assert not problems.summary(), problems.summary()


def log_in(context, page, email: str) -> None:
    """A fresh session for ``email`` through the real form (the phone's menu is folded)."""
    context.clear_cookies()
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("邮箱").fill(email)
    form.get_by_label("密码", exact=True).fill(TEST_PASSWORD)
    form.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_buyer_requests_vendor_issues_buyer_downloads(phone, live_server):
    context, page = phone
    arranged = live_server.run(arrange)

    # the product page's buy bar stays at the bottom of the phone's screen
    page.goto(f"/products/{arranged['product']}")
    bar = page.get_by_test_id("buy-bar")
    box = bar.bounding_box()
    assert box is not None and abs(box["y"] + box["height"] - PHONE["height"]) < 2
    assert bar.get_by_role("button", name="加入购物车").is_enabled()
    page.screenshot(path=str(SCREENSHOTS / "invoices_product_bar.png"))

    # a sold-out product: no active button, a restock alert, nothing wider than the phone
    page.goto(f"/products/{arranged['sold_out']}")
    bar = page.get_by_test_id("buy-bar")
    assert bar.get_by_test_id("sold-out").is_disabled()
    assert bar.get_by_test_id("restock-login").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "invoices_sold_out_bar.png"))

    # the buyer asks for a company invoice from the order page
    log_in(context, page, arranged["buyer"])
    page.goto(f"/orders/{arranged['order']}")
    page.get_by_test_id("invoice-request").click()
    form = page.get_by_test_id("invoice-form")
    form.get_by_label("单位").check()
    form.get_by_label("发票抬头").fill("海口某某科技有限公司")
    form.get_by_label("纳税人识别号").fill("91350100M000100Y44")  # one character off
    form.get_by_label("接收邮箱").fill("finance@example.com")
    form.get_by_role("button", name="提交申请").click()
    page.get_by_text("纳税人识别号应为").wait_for()
    page.get_by_test_id("invoice-form").get_by_label("纳税人识别号").fill(CREDIT_CODE)
    page.get_by_test_id("invoice-form").get_by_role("button", name="提交申请").click()
    page.get_by_text("发票申请已提交").wait_for()
    assert page.get_by_test_id("invoice-status").inner_text() == "待开票"

    # the vendor finds it among its requests and issues it with the PDF
    log_in(context, page, arranged["vendor"])
    page.goto("/vendor/invoices?status=requested")
    row = page.get_by_test_id("invoice-row")
    assert row.count() == 1 and "海口某某科技有限公司" in row.inner_text()
    row.get_by_role("link", name="去开票").click()
    issue = page.get_by_test_id("invoice-issue-form")
    issue.get_by_label("发票号码").fill("04400001")
    issue.get_by_label("电子发票 PDF").set_input_files(
        {"name": "fapiao.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    issue.get_by_role("button", name="开具发票").click()
    page.get_by_text("发票已开具，已通知买家。").wait_for()
    assert page.get_by_test_id("invoice-status").inner_text() == "已开票"

    # the buyer is told, and downloads it from the order page
    log_in(context, page, arranged["buyer"])
    page.goto("/inbox")
    page.get_by_text(f"订单 {arranged['number']} 的发票已开具").first.wait_for()
    page.goto(f"/orders/{arranged['order']}")
    assert page.get_by_test_id("invoice-status").inner_text() == "已开票"
    with page.expect_download() as download_info:
        page.get_by_test_id("invoice-download").click()
    download = download_info.value
    assert download.suggested_filename.endswith("04400001.pdf")
    with open(download.path(), "rb") as saved:
        assert saved.read() == PDF
