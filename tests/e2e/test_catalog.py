"""The certification path in a real browser: a vendor applies for its product through
the vendor form, bureau staff approve it on the review page, and the product appears in
the public catalog, with counts of the households it helps but never a name or code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.clock import local_today
from marketplace.models import OrgKind, Role

from ..catalog_factories import ProductFactory
from ..factories import HouseholdFactory, VillageFactory, member_of

pytestmark = pytest.mark.e2e

HOUSEHOLDS = [("E2E-HH-001", "黎秘甲"), ("E2E-HH-002", "黎秘乙"), ("E2E-HH-003", "黎秘丙")]


def arrange() -> dict:
    village = VillageFactory(name="石岭村")
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="石岭荔枝专业合作社", village=village)
    bureau = member_of(OrgKind.BUREAU, Role.STAFF, name="市乡村振兴局")
    for code, name in HOUSEHOLDS:
        HouseholdFactory(code=code, head_name=name, village=village)
    product = ProductFactory(
        vendor=vendor.memberships[0].org, name="妃子笑荔枝", price=1250, unit="斤"
    )
    return {
        "vendor": vendor.email,
        "bureau": bureau.email,
        "product_id": product.id,
    }


def test_vendor_applies_bureau_approves_product_goes_on_sale(
    page, live_server, browser_auth, tmp_path
):
    data = live_server.run(arrange)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    today = local_today()

    # the product is not on sale before it is certified
    page.goto("/products")
    assert page.get_by_text("妃子笑荔枝").count() == 0

    # the vendor applies through its form
    browser_auth.login(data["vendor"])
    page.goto(f"/vendor/products/{data['product_id']}/certify")
    form = page.locator("main form[enctype='multipart/form-data']")
    form.get_by_label("带贫方式").select_option(label="订单收购")
    form.get_by_label("受益农户").fill("E2E-HH-001,2\nE2E-HH-002,1\nE2E-HH-003,1")
    form.get_by_label("预计年带动金额（元）").fill("12000")
    form.get_by_label("检测报告（PDF）").set_input_files(str(report))
    form.get_by_label("检测报告有效期至").fill((today + timedelta(days=300)).isoformat())
    form.get_by_role("button", name="提交申请").click()
    page.get_by_text("认定申请已提交").wait_for()
    browser_auth.logout()

    # bureau staff find it in the queue and approve it
    browser_auth.login(data["bureau"])
    page.goto("/bureau/certifications")
    page.get_by_test_id("certification-queue").get_by_role("link", name="妃子笑荔枝").click()
    households = page.get_by_test_id("proposed-households")
    for code, name in HOUSEHOLDS:  # the bureau may see who is linked
        assert households.get_by_text(code).count() == 1
        assert households.get_by_text(name).count() == 1
    assert households.get_by_text("50.00%").count() == 1
    approve = page.get_by_test_id("approve-form")
    approve.get_by_label("证书编号").fill("FP-E2E-0001")
    approve.get_by_label("认定日期").fill(today.isoformat())
    approve.get_by_label("有效期至").fill((today + timedelta(days=365)).isoformat())
    approve.get_by_role("button", name="批准").click()
    page.get_by_text("已批准认定，证书编号 FP-E2E-0001").wait_for()
    assert page.get_by_test_id("cert-status").inner_text() == "已认定"
    browser_auth.logout()

    # anyone now sees it on the public notice, and finds it in the catalog by a
    # two-character search
    page.goto("/notices")
    page.get_by_test_id("notices").get_by_text("FP-E2E-0001").wait_for()
    page.goto("/products?q=荔枝")
    page.get_by_test_id("product-grid").get_by_role("link", name="妃子笑荔枝").click()
    page.get_by_test_id("certificate").get_by_text("FP-E2E-0001").wait_for()
    impact = page.get_by_test_id("impact").inner_text()
    assert "此产品帮扶 3 户建档立卡户，分布在 1 个村" in impact
    assert "石岭村" in impact  # three households live there, so the village is named
    html = page.content()
    for code, name in HOUSEHOLDS:
        assert code not in html and name not in html
