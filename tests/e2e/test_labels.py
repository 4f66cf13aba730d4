"""Traceability labels in a real browser (issue 16, item 4): a vendor opens the label
sheet of a product and of a receipt batch, the sheet shows QR codes and prints as A4
pages of 3 x 8 labels, and following a label's link counts a scan and lands on the
public product page (with the batch's receipt date for a batch label)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.clock import local_date
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from vendors import stock
from vendors.models import TraceLabel

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, member_of

pytestmark = pytest.mark.e2e

MM = 96 / 25.4  # CSS pixels per millimetre


def arrange() -> dict:
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="石岭蜂蜜合作社")
    org = vendor.memberships[0].org
    product = ProductFactory(vendor=org, name="百花蜂蜜", unit="瓶")
    CertificationFactory(product=product, certificate_no="FP-E2E-0007")
    for _ in range(3):
        BenefitLinkFactory(product=product, household=HouseholdFactory(risk_light="red"))
    [movement] = stock.receive([stock.Goods(product.id, 6)], stock.Ref(note="春季第一批"))
    return {
        "vendor": vendor.email,
        "product": product.id,
        "village": product.origin_village.full_name,
        "received": local_date(movement.created_at).isoformat(),
    }


def _scans(live, **where) -> int:
    return live.run(lambda: db.session.scalar(select(TraceLabel.scans).filter_by(**where)))


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_a_vendor_prints_labels_and_a_scan_opens_the_product(
    page, live_server, browser_auth, browser
):
    data = live_server.run(arrange)
    browser_auth.login(data["vendor"])

    # the product's sheet: 24 labels with inline QR codes on one A4 page
    page.goto("/vendor/labels")
    page.get_by_test_id("product-labels").get_by_role("button", name="打印标签").click()
    page.get_by_test_id("sheet-toolbar").wait_for()
    labels = page.get_by_test_id("label")
    assert labels.count() == 24
    assert page.locator(".trace-qr svg.qr").count() == 24
    assert "FP-E2E-0007" in labels.first.inner_text()
    assert data["village"] in labels.first.inner_text()
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.get_by_test_id("sheet-toolbar").is_visible()
    box = labels.first.bounding_box()
    assert abs(box["width"] - 70 * MM) < 1 and abs(box["height"] - 35 * MM) < 1
    qr = page.locator(".trace-qr svg").first.bounding_box()
    assert qr["width"] > 25 * MM  # big enough to scan from a jar
    assert _pdf_pages(page.pdf(prefer_css_page_size=True)) == 1
    page.emulate_media(media="screen")
    page.get_by_label("标签数量").fill("30")
    page.get_by_role("button", name="更新").click()
    page.wait_for_url(re.compile(r"copies=30"))
    assert labels.count() == 30
    assert _pdf_pages(page.pdf(prefer_css_page_size=True)) == 2
    product_link = page.get_by_test_id("label-url").get_attribute("href")
    assert re.fullmatch(re.escape(live_server.url) + r"/t/[\w-]{12}", product_link)

    # the batch's sheet: one label per unit received, with its receipt date
    page.goto("/vendor/labels")
    page.get_by_test_id("batch-labels").get_by_role("button", name="打印批次标签").click()
    assert labels.count() == 6
    assert data["received"] in labels.first.inner_text()
    batch_link = page.get_by_test_id("label-url").get_attribute("href")
    assert batch_link != product_link

    # a shopper scans: a fresh browser with no cookies
    shopper = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        phone = shopper.new_page()
        scan_responses = []
        phone.on("response", lambda r: scan_responses.append(r) if "/t/" in r.url else None)
        phone.goto(product_link)
        assert phone.url == f"{live_server.url}/products/{data['product']}"
        assert "FP-E2E-0007" in phone.get_by_test_id("certificate").inner_text()
        assert "此产品帮扶 3 户建档立卡户" in phone.get_by_test_id("impact").inner_text()
        assert phone.get_by_test_id("priority-badge").is_visible()
        # the scan itself: a redirect that sets no cookie and may not be cached
        [scan] = scan_responses
        assert scan.status == 302
        headers = scan.all_headers()
        assert "set-cookie" not in headers and headers["cache-control"] == "no-store"

        phone.goto(batch_link)
        assert "?batch=" in phone.url
        batch_note = phone.get_by_test_id("batch").inner_text()
        assert data["received"] in batch_note
    finally:
        shopper.close()

    assert _scans(live_server, product_id=data["product"], movement_id=None) == 1
    token = batch_link.rsplit("/", 1)[1]
    assert _scans(live_server, token=token) == 1

    # the vendor sees the counts
    page.goto("/vendor/labels")
    scans = page.get_by_test_id("product-labels").get_by_test_id("scans").first
    assert scans.inner_text() == "1"
