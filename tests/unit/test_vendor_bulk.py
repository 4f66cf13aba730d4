"""A vendor's own bulk tools (issue 14, item 5): the product list upload touches only the
vendor's own SKUs; tracking numbers uploaded ship many parts at once (all or none);
packing slips for a batch of orders; the order list as CSV/XLSX."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from catalog.models import Product
from marketplace.extensions import db
from orders.shop.models import ShipmentStatus

from ..factories import UserFactory
from .test_fulfilment import market, paid_order, part  # noqa: F401  (fixture)


def post_file(client, url: str, body: str, name: str = "f.csv", dry_run: bool = False):
    data = {"file": (io.BytesIO(body.encode()), name)}
    if dry_run:
        data["dry_run"] = "y"
    return client.post(url, data=data, content_type="multipart/form-data")


def product(sku: str) -> Product:
    db.session.expire_all()
    return db.session.scalar(select(Product).where(Product.sku == sku))


def test_a_vendor_upload_cannot_touch_another_vendors_sku(client, auth, market):  # noqa: F811
    apples, honey = market["apples"], market["honey"]
    auth.login(market["staff_a"].email)
    theirs = post_file(
        client,
        "/vendor/products/import",
        "sku,name,category,unit,price\n"
        f"{apples.sku},苹果（新名）,水果,箱,12.00\n"
        f"{honey.sku},偷改的蜂蜜,蜂产品,瓶,1.00\n",
    )
    assert "row 3: sku: 该 SKU 已被占用" in theirs.text
    assert product(honey.sku).name == honey.name and product(honey.sku).vendor_id == honey.vendor_id
    assert product(apples.sku).name == apples.name  # all or nothing

    ok = post_file(
        client,
        "/vendor/products/import",
        f"sku,name,category,unit,price,stock\n{apples.sku},苹果（新名）,水果,箱,12.00,\n"
        "A-NEW-1,新产品,水果,箱,30,5\n",
    )
    assert "products: 1 created, 1 updated" in ok.text
    assert product("A-NEW-1").vendor_id == apples.vendor_id
    assert product(apples.sku).name == "苹果（新名）" and product(apples.sku).price == 1200

    certifying = post_file(
        client,
        "/vendor/products/import",
        "sku,name,category,unit,price,certificate_no\nA-NEW-2,x,水果,箱,3,FP-SELF\n",
    )
    assert "certificate_no: 未知的列" in certifying.text and product("A-NEW-2") is None


def test_tracking_numbers_uploaded_ship_the_vendors_parts_all_or_none(client, auth, market):  # noqa: F811
    apples, honey = market["apples"], market["honey"]
    first = market["order"]  # apples and honey
    second = paid_order(UserFactory(), {apples: 1}, "bulk-2")
    only_b = paid_order(UserFactory(), {honey: 1}, "bulk-3")
    auth.login(market["staff_a"].email)

    refused = post_file(
        client,
        "/vendor/orders/tracking",
        "order_number,carrier,tracking_no\n"
        f"{first.number},顺丰速运,SF1\n{only_b.number},顺丰速运,SF2\n",
    )
    assert "row 3: order_number: 本店没有这个已付款订单" in refused.text
    assert part(first, apples.vendor_id).status == ShipmentStatus.PENDING

    xlsx = client.get("/vendor/orders/tracking/template.xlsx")
    numbers = [
        row[0] for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)
    ]
    assert numbers[0] == "order_number" and {first.number, second.number} <= set(numbers)
    assert only_b.number not in numbers

    done = post_file(
        client,
        "/vendor/orders/tracking",
        f"order_number,carrier,tracking_no\n{first.number},顺丰速运,SF1\n{second.number},中通快递,ZT2\n",
    )
    assert "tracking: 2 shipped" in done.text
    shipped = part(first, apples.vendor_id)
    assert (shipped.status, shipped.carrier, shipped.tracking_no) == ("shipped", "顺丰速运", "SF1")
    assert part(first, honey.vendor_id).status == ShipmentStatus.PENDING  # the other vendor's
    again = post_file(
        client, "/vendor/orders/tracking", f"order_number,carrier,tracking_no\n{first.number},x,y\n"
    )
    assert "已发货或已取消" in again.text


def test_packing_slips_show_only_the_vendors_own_lines(client, auth, market):  # noqa: F811
    apples, honey = market["apples"], market["honey"]
    only_b = paid_order(UserFactory(), {honey: 2}, "slip-b")
    auth.login(market["staff_a"].email)
    page = client.get(f"/vendor/orders/slips?order={market['order'].id}&order={only_b.id}").text
    assert page.count('data-testid="slip"') == 1 and market["order"].number in page
    assert apples.name in page and honey.name not in page
    pending = client.get("/vendor/orders/slips").text
    assert market["order"].number in pending and only_b.number not in pending
    assert "李市民" in pending  # the recipient, to ship to


def test_the_order_export_has_numbers_for_money(client, auth, market):  # noqa: F811
    auth.login(market["staff_a"].email)
    response = client.get("/vendor/orders/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows())
    order_row = next(r for r in rows if r[0].value == market["order"].number)
    assert order_row[5].data_type == "n" and float(order_row[5].value) == 20.0
    assert market["honey"].name not in [c.value for r in rows for c in r]
    csv = client.get("/vendor/orders/export.csv").data.decode("utf-8-sig")
    assert market["order"].number in csv and "20.00" in csv
