"""The cooperative's back office in a real browser (issue 14): vendor staff land on the
dashboard after logging in, see the new order in the inbox, print its packing slip,
upload its tracking number, and download last month's settlement statement."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from marketplace.clock import local_today
from marketplace.models import OrgKind, Role
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale
from orders.settlement.services import issue_month
from orders.shop.checkout import Delivery, place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, UserFactory, member_of

pytestmark = pytest.mark.e2e


def arrange() -> dict:
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="石岭荔枝专业合作社")
    org = vendor.memberships[0].org
    product = ProductFactory(vendor=org, name="妃子笑荔枝", price=1250, unit="斤")
    CertificationFactory(product=product, certified_on=local_today() - timedelta(days=120))
    for _ in range(3):
        BenefitLinkFactory(product=product, household=HouseholdFactory())
    stock.receive([stock.Goods(product.id, 50)], stock.Ref("e2e"))
    # last month: an online sale, and its statement issued by the bureau
    last_month = local_today().replace(day=1) - timedelta(days=1)
    record_paid_sale(
        Channel.ONLINE,
        [SaleItem(product, 4, 1250)],
        sale_date=last_month.replace(day=10),
        check_sellable=False,
    )
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    issue_month(bureau, bureau.memberships[0].org, last_month)
    # today: a citizen pays for a new order
    buyer = UserFactory()
    delivery = Delivery("address", "李市民", "13800000000", "海口市龙华区滨海大道1号")
    order = place_order(buyer, {product.id: 2}, delivery, "e2e-office")
    assert complete_payment("test", start_payment(order).reference).status == "paid"
    return {"vendor": vendor.email, "order": order.number, "month": last_month}


def test_a_vendor_works_through_its_day(page, live_server, browser_auth):
    data = live_server.run(arrange)
    browser_auth.login(data["vendor"])

    # lands on the dashboard, which says what to do today
    assert page.url.endswith("/vendor")
    assert page.get_by_test_id("to-ship").inner_text() == "1"
    assert data["month"].strftime("%Y-%m") in page.get_by_test_id("today-statement").inner_text()

    # the new order is in the inbox
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    page.get_by_test_id("inbox-link").click()
    notice = page.get_by_test_id("notice").first
    assert data["order"] in notice.inner_text()
    notice.get_by_role("button", name="查看").click()
    page.wait_for_url("**/vendor/orders/*")
    assert page.get_by_test_id("unread-count").count() == 0

    # packing slip for the chosen order
    page.goto("/vendor/orders")
    row = page.locator(f'[data-testid="vendor-order-row"][data-order="{data["order"]}"]')
    row.get_by_role("checkbox").check()
    page.get_by_test_id("slips-selected").click()
    slip = page.get_by_test_id("slip")
    assert slip.count() == 1 and data["order"] in slip.inner_text()
    assert "李市民" in slip.inner_text() and "妃子笑荔枝" in slip.inner_text()

    # tracking numbers uploaded in bulk
    page.goto("/vendor/orders/tracking")
    body = f"order_number,carrier,tracking_no\n{data['order']},顺丰速运,SF100200300\n"
    page.locator('input[type="file"]').set_input_files(
        {"name": "运单.csv", "mimeType": "text/csv", "buffer": body.encode()}
    )
    page.get_by_test_id("upload-tracking").click()
    assert "tracking: 1 shipped" in page.get_by_test_id("import-summary").inner_text()
    page.goto("/vendor/orders?status=shipped")
    assert data["order"] in page.get_by_test_id("vendor-orders").inner_text()

    # last month's statement, downloaded
    page.get_by_test_id("shop-menu").click()
    page.get_by_test_id("vendor-statements-link").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("statement-xlsx").first.click()
    download = download_info.value
    label = f"{data['month'].year}年{data['month'].month}月"
    assert download.suggested_filename.endswith(f"{label}.xlsx")
    with open(download.path(), "rb") as file:
        sheet = load_workbook(io.BytesIO(file.read())).active
    net = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "应付净额")
    assert float(net[3]) == 50.0
