"""The stock movement log reads in words (issue 14, item 6): what a movement belongs to
("订单 O-..."), who caused it (a member by name, the system in words, a buyer as 买家,
never an e-mail address) on the page and in the export."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from vendors import services

from ..factories import UserFactory
from .test_fulfilment import paid_order, staff_of
from .test_shop_core import stocked_product


def test_the_log_names_orders_and_people_in_words_without_buyers_addresses(client, auth):
    apples = stocked_product(20, price=1000)
    staff = staff_of(apples.vendor)
    staff.name = "王库管"
    buyer = UserFactory(email="buyer.private@example.com")
    order = paid_order(buyer, {apples: 2}, "mv-1")
    services.adjust_stock(
        staff, apples.vendor, apples.id, reason="damaged", delta=-1, note="箱子压坏"
    )
    auth.login(staff.email)

    page = client.get("/vendor/stock/movements").text
    assert "buyer.private@example.com" not in page
    assert f"订单 {order.number}" in page
    assert "买家" in page and "付款确认（系统）" in page
    assert "损坏 · 箱子压坏 · 手工操作" in page and "王库管" in page
    for raw in (">payment<", ">manual<", ">expiry<"):
        assert raw not in page

    for fmt in ("csv", "xlsx"):
        data = client.get(f"/vendor/stock/movements/export.{fmt}").data
        if fmt == "csv":
            text = data.decode("utf-8-sig")
        else:
            sheet = load_workbook(io.BytesIO(data)).active
            text = "\n".join(
                ",".join(str(v) for v in row if v is not None)
                for row in sheet.iter_rows(values_only=True)
            )
        assert "buyer.private@example.com" not in text and "买家" in text and "王库管" in text
