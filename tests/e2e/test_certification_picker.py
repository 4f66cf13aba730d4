"""The certification application's household picker and held test report in a real
browser, on a phone (issue 14, item 4): the vendor searches its own town's register,
adds households with one tap (names masked, another town's never listed), and a test
report chosen before an error stays attached for the corrected form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.clock import local_today
from marketplace.models import OrgKind, Role

from ..catalog_factories import ProductFactory
from ..factories import HouseholdFactory, VillageFactory, member_of
from .conftest import SCREENSHOTS
from .test_phone_shop import PHONE, fits, phone_login

pytestmark = pytest.mark.e2e


def arrange() -> dict:
    village = VillageFactory(name="石岭村")
    neighbour = VillageFactory(name="田头村", town=village.town)
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="石岭荔枝专业合作社", village=village)
    HouseholdFactory(code="SL-001", head_name="王小华", village=village)
    HouseholdFactory(code="TT-001", head_name="李明", village=neighbour)
    HouseholdFactory(code="FAR-001", head_name="赵远方", village=VillageFactory(name="远村"))
    product = ProductFactory(vendor=vendor.memberships[0].org, name="妃子笑荔枝", price=1250)
    return {"vendor": vendor.email, "product_id": product.id}


def test_households_are_picked_and_the_report_stays_attached(page, live_server, tmp_path):
    data = live_server.run(arrange)
    report = tmp_path / "检测报告.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.set_viewport_size(PHONE)
    phone_login(page, data["vendor"])
    page.goto(f"/vendor/products/{data['product_id']}/certify")

    picker = page.get_by_test_id("household-picker")
    rows = picker.get_by_test_id("pick-row")
    rows.first.wait_for()
    assert rows.count() == 2  # the vendor's town: its village and the neighbouring one
    listed = picker.inner_text()
    assert "王*华" in listed and "李*" in listed and "田头村" in listed
    assert "王小华" not in page.content() and "FAR-001" not in listed
    picker.get_by_label("查找农户").fill("田头")
    picker.get_by_label("查找农户").press("Enter")  # searches, does not submit
    picker.get_by_text("王*华").wait_for(state="detached")
    assert rows.count() == 1
    picker.get_by_role("button", name="添加").click()
    assert picker.get_by_role("button", name="已添加").is_disabled()
    picker.get_by_label("查找农户").fill("FAR")
    picker.get_by_role("button", name="搜索").click()
    picker.get_by_text("没有找到本乡镇的农户").wait_for()
    assert page.get_by_label("受益农户").input_value() == "TT-001,1"
    fits(page)
    page.screenshot(path=str(SCREENSHOTS / "certify_picker_phone.png"), full_page=True)

    # the form comes back (no value given), the PDF stays attached
    form = page.locator("main form[enctype='multipart/form-data']")
    form.get_by_label("预计年带动金额（元）").fill("12000")
    form.get_by_label("检测报告（PDF）").set_input_files(str(report))
    form.get_by_role("button", name="提交申请").click()
    page.get_by_test_id("held-report").wait_for()
    assert (
        "已上传：检测报告.pdf（重新选择可替换）" in page.get_by_test_id("held-report").inner_text()
    )
    assert page.get_by_label("受益农户").input_value() == "TT-001,1"

    form = page.locator("main form[enctype='multipart/form-data']")
    form.get_by_label("检测报告有效期至").fill((local_today() + timedelta(days=300)).isoformat())
    form.get_by_role("button", name="提交申请").click()
    page.get_by_text("认定申请已提交").wait_for()
    history = page.locator("main .list-group-item").first.inner_text()
    assert "1 户" in history and "查看 PDF" in history
