"""The vendor's stock pages (issue 5, items 4-5): the table, receipts, adjustments,
settings, movement history with CSV/XLSX export, bulk update by CSV, and the public badge.
Another vendor's product or location id gives 404 on every route and changes nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from vendors import services, stock, stock_counts
from vendors.locations import warehouse
from vendors.models import StockLocation, StockMovement, StockSetting
from vendors.stock import WAREHOUSE, Goods, Ref, fair_stall

from ..catalog_factories import CertificationFactory, ProductFactory
from ..factories import UserFactory, member_of
from ..stock_helpers import warehouse_level


@pytest.fixture
def vendor():
    return member_of(OrgKind.COOPERATIVE, Role.STAFF)


@pytest.fixture
def org(vendor):
    return vendor.memberships[0].org


@pytest.fixture
def product(org):
    return ProductFactory(vendor=org, name="妃子笑荔枝", sku="LZ-001", unit="箱")


@pytest.fixture
def other_product():
    """A product of another vendor, with stock at that vendor's warehouse."""
    product = ProductFactory(name="别家的蜂蜜", sku="FM-999")
    stock.receive([Goods(product.id, 7)], Ref())
    return product


@pytest.fixture
def login(auth):
    def do(user):
        assert auth.login(user.email).status_code == 302
        return user

    return do


def text(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def count_movements() -> int:
    return db.session.scalar(select(func.count(StockMovement.id)))


def receive(product, quantity, note=""):
    return stock.receive([Goods(product.id, quantity)], Ref(note=note))[0]


# ---------------------------------------------------------------- who may enter


def test_stock_link_in_the_sellers_menu(client, login, vendor):
    login(vendor)
    assert "/vendor/stock" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "make_user",
    [lambda: UserFactory(), lambda: member_of(OrgKind.AGENCY, Role.BUYER)],
    ids=["citizen", "agency"],
)
def test_non_sellers_get_403(client, login, make_user, other_product):
    login(make_user())
    for url in (
        "/vendor/stock",
        "/vendor/stock/movements",
        "/vendor/stock/import",
        f"/vendor/stock/{other_product.id}",
        f"/vendor/stock/{other_product.id}/receive",
    ):
        assert client.get(url).status_code == 403, url
    assert "/vendor/stock" not in client.get("/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/vendor/stock")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_vendors_ids_give_404_on_every_route_and_change_nothing(
    client, login, vendor, org, product, other_product
):
    login(vendor)
    receive(product, 5)
    other = other_product.id
    other_location = warehouse(other_product.vendor_id).id
    before = count_movements()
    for url in (
        f"/vendor/stock/{other}",
        f"/vendor/stock/{other}/receive",
        f"/vendor/stock/{other}/adjust",
        f"/vendor/stock/{other}/settings",
        f"/vendor/stock/movements?product={other}",
        f"/vendor/stock/movements/export.csv?product={other}",
        f"/vendor/stock/movements/export.xlsx?product={other}",
    ):
        assert client.get(url).status_code == 404, url
    posts = {
        f"/vendor/stock/{other}/receive": {"quantity": "5", "note": "x", "location_id": ""},
        f"/vendor/stock/{other}/adjust": {
            "mode": "delta",
            "quantity": "-3",
            "reason": "damaged",
            "location_id": "",
        },
        f"/vendor/stock/{other}/settings": {"low_threshold": "1", "show_exact": "y"},
        # the vendor's own product at another vendor's location
        f"/vendor/stock/{product.id}/receive": {
            "quantity": "5",
            "location_id": str(other_location),
        },
        f"/vendor/stock/{product.id}/adjust": {
            "mode": "count",
            "quantity": "0",
            "reason": "count_correction",
            "location_id": str(other_location),
        },
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 404, url
    assert client.get("/vendor/stock/999999").status_code == 404
    db.session.expire_all()
    assert count_movements() == before
    assert stock.available(other) == 7
    assert stock.available(product.id) == 5
    assert db.session.get(StockSetting, other) is None
    assert "别家的蜂蜜" not in client.get("/vendor/stock").get_data(as_text=True)
    movements = client.get("/vendor/stock/movements").get_data(as_text=True)
    assert "别家的蜂蜜" not in movements


# ---------------------------------------------------------------- the table


def test_table_shows_levels_status_and_the_low_stock_alert(client, login, vendor, org, product):
    low = ProductFactory(vendor=org, name="白糖罂荔枝", sku="LZ-002")
    gone = ProductFactory(vendor=org, name="莲雾礼盒", sku="LW-002")
    receive(product, 50)
    receive(low, 6)
    stock.reserve([Goods(product.id, 4)], Ref(type="order", id=1))
    login(vendor)
    page = client.get("/vendor/stock").get_data(as_text=True)
    row = re.search(r'<tr data-sku="LZ-001">.*?</tr>', page, re.S).group(0)
    assert re.findall(r'<td class="text-end[^"]*"[^>]*>(\d+)</td>', row) == ["50", "4", "46", "10"]
    assert "有货" in row
    assert "库存紧张" in re.search(r'<tr data-sku="LZ-002">.*?</tr>', page, re.S).group(0)
    assert "已售罄" in re.search(r'<tr data-sku="LW-002">.*?</tr>', page, re.S).group(0)
    alerts = re.search(r'data-testid="low-stock-alerts".*?</div>', page, re.S).group(0)
    assert "白糖罂荔枝" in alerts and "莲雾礼盒" in alerts and "妃子笑荔枝" not in alerts
    assert gone.id  # listed although nothing was ever received


def test_table_search_low_filter_and_sort(client, login, vendor, org, product):
    low = ProductFactory(vendor=org, name="白糖罂荔枝", sku="LZ-002")
    honey = ProductFactory(vendor=org, name="百花蜜", sku="FM-001")
    receive(product, 50)
    receive(low, 3)
    receive(honey, 20)
    login(vendor)

    def skus(url):
        return re.findall(r'<tr data-sku="([^"]+)">', client.get(url).get_data(as_text=True))

    assert set(skus("/vendor/stock?q=荔枝")) == {"LZ-001", "LZ-002"}
    assert skus("/vendor/stock?q=fm-0") == ["FM-001"]
    assert skus("/vendor/stock?low=1") == ["LZ-002"]
    assert skus("/vendor/stock?sort=available") == ["LZ-002", "FM-001", "LZ-001"]
    assert skus("/vendor/stock?sort=-available") == ["LZ-001", "FM-001", "LZ-002"]


def test_table_paginates(client, login, vendor, org, app):
    for n in range(app.config["PAGE_SIZE"] + 3):
        ProductFactory(vendor=org, name=f"产品{n:02d}", sku=f"P-{n:02d}")
    login(vendor)
    first = client.get("/vendor/stock").get_data(as_text=True)
    second = client.get("/vendor/stock?page=2").get_data(as_text=True)
    assert first.count("<tr data-sku") == app.config["PAGE_SIZE"]
    assert second.count("<tr data-sku") == 3


def test_product_stock_page_shows_levels_and_recent_movements(client, login, vendor, product):
    receive(product, 12, "施茶村 8 户秋收黑豆")
    stock_counts.adjust_at(
        product.id, warehouse(product.vendor_id).id, -2, "spoiled", Ref(note="受潮")
    )
    login(vendor)
    page = text(client.get(f"/vendor/stock/{product.id}"))
    assert "仓库 10 0 10" in page
    assert "施茶村 8 户秋收黑豆" in page and "变质 · 受潮" in page


# ---------------------------------------------------------------- receive, adjust, settings


def test_receive_form_records_the_batch(client, login, vendor, product):
    login(vendor)
    response = client.post(
        f"/vendor/stock/{product.id}/receive",
        data={"quantity": "40", "note": "建群村 5 户农户第 3 批", "location_id": ""},
        follow_redirects=True,
    )
    assert "已入库 40 箱" in text(response)
    assert "建群村 5 户农户第 3 批" in text(response)
    movement = db.session.scalar(select(StockMovement))
    assert (movement.kind, movement.on_hand_after, movement.actor_id) == ("receipt", 40, vendor.id)


@pytest.mark.parametrize("quantity", ["-5", "0", "abc", ""])
def test_receive_form_refuses_non_positive_quantities(client, login, vendor, product, quantity):
    login(vendor)
    response = client.post(
        f"/vendor/stock/{product.id}/receive", data={"quantity": quantity, "location_id": ""}
    )
    assert response.status_code == 200
    assert "is-invalid" in response.get_data(as_text=True)
    assert count_movements() == 0


def test_adjust_form_requires_a_reason(client, login, vendor, product):
    receive(product, 10)
    login(vendor)
    response = client.post(
        f"/vendor/stock/{product.id}/adjust",
        data={"mode": "delta", "quantity": "-2", "reason": "", "location_id": ""},
    )
    assert "请选择调整原因" in text(response)
    assert count_movements() == 1


def test_adjust_form_refuses_going_below_zero(client, login, vendor, product):
    receive(product, 10)
    login(vendor)
    response = client.post(
        f"/vendor/stock/{product.id}/adjust",
        data={"mode": "delta", "quantity": "-11", "reason": "damaged", "location_id": ""},
    )
    assert "调整后库存不能为负" in text(response)
    assert count_movements() == 1
    assert stock.available(product.id) == 10


def test_adjust_form_by_count_and_by_change(client, login, vendor, product):
    receive(product, 10)
    login(vendor)
    url = f"/vendor/stock/{product.id}/adjust"
    client.post(
        url,
        data={"mode": "count", "quantity": "7", "reason": "count_correction", "location_id": ""},
    )
    client.post(
        url,
        data={
            "mode": "delta",
            "quantity": "-2",
            "reason": "returned_to_producer",
            "note": "规格不符",
            "location_id": "",
        },
    )
    rows = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.on_hand_delta, m.reason, m.note) for m in rows[1:]] == [
        (-3, "count_correction", None),
        (-2, "returned_to_producer", "规格不符"),
    ]
    assert stock.available(product.id) == 5


def test_settings_form_sets_threshold_and_public_exact_number(client, login, vendor, product):
    receive(product, 8)
    CertificationFactory(product=product)
    login(vendor)
    page = text(client.get(f"/products/{product.id}"))
    assert "库存紧张" in page and "库存 8" not in page
    response = client.post(
        f"/vendor/stock/{product.id}/settings",
        data={"low_threshold": "5", "show_exact": "y"},
        follow_redirects=True,
    )
    assert "低库存阈值：5 箱" in text(response)
    page = text(client.get(f"/products/{product.id}"))
    assert "有货" in page and "库存 8" in page


def test_product_page_shows_sold_out(client, product):
    CertificationFactory(product=product)
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-stock="sold_out"' in page and "已售罄" in page


# ---------------------------------------------------------------- movements and export


@pytest.fixture
def history(vendor, org, product):
    """Movements on known days: two products, three kinds, spread over a month."""
    honey = ProductFactory(vendor=org, name="百花蜜", sku="FM-001")
    receive(product, 30, "第一批")  # 2026-03-01
    receive(honey, 10)  # 2026-03-05
    services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-2)  # 03-10
    receive(product, 5, '=HYPERLINK("http://x")')  # 03-20
    services.adjust_stock(vendor, org, honey.id, reason="spoiled", delta=-1)  # 03-31
    days = ["2026-03-01", "2026-03-05", "2026-03-10", "2026-03-20", "2026-03-31"]
    rows = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    for movement, day in zip(rows, days, strict=True):
        # noon in Beijing is 04:00 UTC
        movement.created_at = datetime.fromisoformat(day) + timedelta(hours=4)
    db.session.commit()
    return {"honey": honey, "ids": [m.id for m in rows]}


def exported_ids_csv(client, query):
    response = client.get(f"/vendor/stock/movements/export.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    return rows


def exported_rows_xlsx(client, query):
    response = client.get(f"/vendor/stock/movements/export.xlsx?{query}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    heading, header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "库存变动记录" in heading[0]
    return [dict(zip(header, r, strict=True)) for r in rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [4, 3, 2, 1, 0]),
        ("product={product}", [3, 2, 0]),
        ("kind=adjustment", [4, 2]),
        ("from=2026-03-05&to=2026-03-20", [3, 2, 1]),
        ("product={product}&kind=receipt&from=2026-03-02", [3]),
    ],
)
def test_export_contains_exactly_the_filtered_movements(
    client, login, vendor, product, history, query, expected
):
    login(vendor)
    query = query.format(product=product.id)
    ids = [history["ids"][i] for i in expected]
    page = client.get(f"/vendor/stock/movements?{query}").get_data(as_text=True)
    assert f"共 {len(ids)} 条" in page
    csv_rows = exported_ids_csv(client, query)
    xlsx_rows = exported_rows_xlsx(client, query)
    assert [int(r["id"]) for r in csv_rows] == ids
    assert [int(r["id"]) for r in xlsx_rows] == ids
    for row in (*csv_rows, *xlsx_rows):
        movement = db.session.get(StockMovement, int(row["id"]))
        assert int(row["on_hand_delta"]) == movement.on_hand_delta
        assert int(row["on_hand_after"]) == movement.on_hand_after
        assert row["kind"] == movement.kind


def test_export_neutralises_formulas_and_names_reasons(client, login, vendor, history):
    login(vendor)
    rows = exported_ids_csv(client, "")
    notes = {r["note"] for r in rows}
    assert '\'=HYPERLINK("http://x")' in notes
    assert {r["reason"] for r in rows if r["kind"] == "adjustment"} == {"损坏", "变质"}
    assert rows[-1]["time"] == "2026-03-01 12:00"  # shown in Beijing time


def test_movement_filter_by_day_uses_local_dates(client, login, vendor, org, product):
    receive(product, 1)
    movement = db.session.scalar(select(StockMovement))
    movement.created_at = datetime(2026, 3, 1, 17, 30)  # 01:30 on 2 March in Beijing
    db.session.commit()
    login(vendor)
    assert exported_ids_csv(client, "to=2026-03-01") == []
    assert len(exported_ids_csv(client, "from=2026-03-02&to=2026-03-02")) == 1


# ---------------------------------------------------------------- bulk update by CSV


def upload(client, content: str, **extra):
    data = {"file": (io.BytesIO(content.encode("utf-8")), "stock.csv"), **extra}
    return client.post("/vendor/stock/import", data=data, content_type="multipart/form-data")


def test_csv_update_sets_on_hand_through_adjustments(client, login, vendor, org, product):
    honey = ProductFactory(vendor=org, name="百花蜜", sku="FM-001")
    receive(product, 30)
    login(vendor)
    response = upload(client, "sku,quantity,note\nLZ-001,25,6月盘点\nFM-001,12,\n")
    assert response.status_code == 302
    assert stock.available(product.id) == 25 and stock.available(honey.id) == 12
    rows = db.session.scalars(
        select(StockMovement).where(StockMovement.ref_type == "import").order_by(StockMovement.id)
    ).all()
    assert [(m.product_id, m.on_hand_delta, m.reason, m.note) for m in rows] == [
        (product.id, -5, "count_correction", "6月盘点"),
        (honey.id, 12, "count_correction", None),
    ]
    assert all(m.actor_id == vendor.id for m in rows)
    page = text(client.get("/vendor/stock"))
    assert "stock: 2 updated, 0 unchanged" in page


def test_csv_update_with_one_bad_row_writes_nothing_and_reports_it(
    client, login, vendor, org, product, other_product
):
    receive(product, 30)
    ProductFactory(vendor=org, name="百花蜜", sku="FM-001")
    login(vendor)
    before = count_movements()
    response = upload(
        client,
        "sku,quantity,note\nLZ-001,25,\nFM-001,-3,\nFM-999,1,\nNOPE,1,\n",
    )
    assert response.status_code == 200
    errors = re.search(
        r'data-testid="import-errors">(.*?)</pre>', response.get_data(as_text=True), re.S
    ).group(1)
    lines = [line for line in errors.splitlines() if line.strip()]
    assert lines[0].startswith("row 3: quantity:")
    assert lines[1].startswith("row 4: sku: unknown sku")  # another vendor's SKU
    assert lines[2].startswith("row 5: sku: unknown sku")
    assert len(lines) == 3
    db.session.expire_all()
    assert count_movements() == before
    assert stock.available(product.id) == 30
    assert stock.available(other_product.id) == 7


def test_csv_update_below_reserved_is_a_row_error(client, login, vendor, org, product):
    receive(product, 30)
    stock.reserve([Goods(product.id, 10)], Ref(type="order", id=1))
    login(vendor)
    response = upload(client, "sku,quantity,note\nLZ-001,9,\n")
    assert "row 2: quantity:" in text(response)
    assert warehouse_level(product.id).on_hand == 30


def test_csv_dry_run_reports_and_writes_nothing(client, login, vendor, product):
    receive(product, 30)
    login(vendor)
    response = upload(client, "sku,quantity,note\nLZ-001,20,\n", dry_run="y")
    assert "dry run, nothing written: stock: 1 updated" in text(response)
    assert stock.available(product.id) == 30


def test_template_lists_own_skus_with_on_hand(client, login, vendor, product, other_product):
    receive(product, 30)
    login(vendor)
    body = client.get("/vendor/stock/import/template.csv").get_data().decode("utf-8-sig")
    assert body.splitlines() == ["sku,quantity,note", "LZ-001,30,"]


def test_fair_location_of_the_vendor_can_receive(client, login, vendor, org, product):
    stall = fair_stall(5, "冬交会展位")
    receive(product, 1)
    stock.transfer(product.id, 1, WAREHOUSE, stall, Ref(type="fair", id=5))
    db.session.commit()
    fair = db.session.scalar(select(StockLocation).where(StockLocation.kind == "fair"))
    login(vendor)
    form = client.get(f"/vendor/stock/{product.id}/receive").get_data(as_text=True)
    assert "冬交会展位" in form
    client.post(
        f"/vendor/stock/{product.id}/receive",
        data={"quantity": "4", "location_id": str(fair.id)},
    )
    assert stock.available(product.id, stall) == 1 + 4
