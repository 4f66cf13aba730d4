"""Traceability labels (issue 16, item 4): a QR code per product and per receipt batch
on a printable A4 sheet, a short link that counts scans (and nothing about the
scanner) and opens the public product page, which shows the batch's receipt date."""

from __future__ import annotations

from datetime import timedelta

import segno
from sqlalchemy import select

from catalog.models import CertStatus
from marketplace.clock import local_date, local_today
from marketplace.extensions import db
from marketplace.models import AuditEntry, OrgKind, Role
from vendors import labels, stock
from vendors.models import MovementKind, StockMovement, TraceLabel

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, member_of
from ..vendor_factories import receive


def _certified(product, number="FP-2026-0042", **kwargs):
    CertificationFactory(product=product, certificate_no=number, **kwargs)
    return product


def _print(client, path: str):
    """Press 打印标签: the POST that makes the label once, then its sheet."""
    return client.post(path, follow_redirects=True)


def _label(**where) -> TraceLabel:
    return db.session.scalar(select(TraceLabel).filter_by(**where))


def test_a_vendor_prints_a_sheet_of_its_products_label(client, auth, vendor, product):
    _certified(product)
    auth.login(vendor.email)
    response = _print(client, f"/vendor/labels/products/{product.id}")
    assert response.status_code == 200
    assert response.request.path == f"/vendor/labels/products/{product.id}"
    html = response.get_data(as_text=True)
    label = _label(product_id=product.id, movement_id=None)
    url = f"http://localhost/t/{label.token}"
    assert html.count('data-testid="label"') == labels.PER_SHEET  # one full A4 sheet
    assert html.count('data-testid="label-page"') == 1
    # the QR code is segno's, of the absolute short link, inline (no image request)
    assert str(labels.qr_svg(url)) in html
    assert "<svg" in html and "<script>" not in html
    assert "FP-2026-0042" in html and product.origin_village.full_name in html
    assert "css/labels.css" in html


def test_copies_fill_more_pages_and_bad_counts_fall_back(client, auth, vendor, product):
    _certified(product)
    auth.login(vendor.email)
    _print(client, f"/vendor/labels/products/{product.id}")
    html = client.get(f"/vendor/labels/products/{product.id}?copies=30").get_data(as_text=True)
    assert html.count('data-testid="label"') == 30
    assert html.count('data-testid="label-page"') == 2
    for bad in ("0", "241", "abc"):
        html = client.get(f"/vendor/labels/products/{product.id}?copies={bad}").get_data(
            as_text=True
        )
        assert html.count('data-testid="label"') == labels.PER_SHEET
        assert "标签数量应为 1 到 240 之间的整数" in html


def test_printing_again_keeps_the_same_label(client, auth, vendor, product):
    _certified(product)
    auth.login(vendor.email)
    _print(client, f"/vendor/labels/products/{product.id}")
    _print(client, f"/vendor/labels/products/{product.id}")
    client.get(f"/vendor/labels/products/{product.id}?copies=3")
    [label] = db.session.scalars(select(TraceLabel)).all()
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "trace_label.create")
    ).all()
    assert entry.actor_id == vendor.id and entry.object_id == str(label.id)


def test_only_a_certified_product_gets_a_label(client, auth, vendor, product):
    CertificationFactory(product=product, status=CertStatus.PENDING)
    auth.login(vendor.email)
    response = _print(client, f"/vendor/labels/products/{product.id}")
    assert "只有认定有效的产品才能打印溯源标签" in response.get_data(as_text=True)
    assert response.request.path == "/vendor/labels"
    assert _label(product_id=product.id) is None


def test_another_vendors_product_or_batch_is_not_found(client, auth, vendor, other_product):
    _certified(other_product)
    auth.login(vendor.email)
    assert client.get(f"/vendor/labels/products/{other_product.id}").status_code == 404
    assert client.post(f"/vendor/labels/products/{other_product.id}").status_code == 404
    batch = db.session.scalar(
        select(StockMovement.id).where(StockMovement.product_id == other_product.id)
    )
    assert client.get(f"/vendor/labels/batches/{batch}").status_code == 404
    assert client.post(f"/vendor/labels/batches/{batch}").status_code == 404
    assert _label(product_id=other_product.id) is None


def test_a_batch_label_is_for_a_receipt_only(client, auth, vendor, product):
    _certified(product)
    movement = receive(product, 5, note="第一批")
    auth.login(vendor.email)
    html = _print(client, f"/vendor/labels/batches/{movement.id}").get_data(as_text=True)
    assert html.count('data-testid="label"') == 5  # one per unit received by default
    assert local_date(movement.created_at).isoformat() in html
    # a movement that is not a receipt is no batch
    stock.write_off([stock.Goods(product.id, 1)], "damaged", stock.Ref(note="摔坏"))
    other = db.session.scalar(
        select(StockMovement.id).where(StockMovement.kind == MovementKind.ADJUSTMENT)
    )
    assert client.get(f"/vendor/labels/batches/{other}").status_code == 404
    assert client.post(f"/vendor/labels/batches/{other}").status_code == 404


def test_a_scan_counts_and_opens_the_product_page(client, auth, vendor, product):
    _certified(product)
    for _ in range(3):
        BenefitLinkFactory(product=product, household=HouseholdFactory())
    auth.login(vendor.email)
    _print(client, f"/vendor/labels/products/{product.id}")
    auth.logout()
    token = _label(product_id=product.id).token
    client.delete_cookie("session", domain="localhost")

    response = client.get(f"/t/{token}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/products/{product.id}")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # nothing follows the scanner
    client.get(f"/t/{token}")
    db.session.expire_all()
    assert _label(token=token).scans == 2

    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "FP-2026-0042" in page
    assert product.origin_village.full_name in page
    assert "此产品帮扶 3 户建档立卡户" in page


def test_a_batch_scan_shows_the_receipt_date(client, auth, vendor, product):
    _certified(product)
    movement = receive(product, 2)
    auth.login(vendor.email)
    _print(client, f"/vendor/labels/batches/{movement.id}")
    token = _label(movement_id=movement.id).token

    response = client.get(f"/t/{token}")
    assert response.headers["Location"].endswith(f"/products/{product.id}?batch={token}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    received = local_date(movement.created_at).isoformat()
    assert f"溯源批次：{received} 入库" in page
    # another product's page ignores the token; a made-up token shows nothing
    other = _certified(ProductFactory(), number="FP-2026-0043")
    assert "溯源批次" not in client.get(f"/products/{other.id}?batch={token}").get_data(
        as_text=True
    )
    assert "溯源批次" not in client.get(f"/products/{product.id}?batch=nope").get_data(as_text=True)


def test_opening_a_sheet_changes_nothing(client, auth, vendor, product):
    """A GET makes no label: the sheet offers the button that does."""
    _certified(product)
    movement = receive(product, 3)
    auth.login(vendor.email)
    for path in (f"/vendor/labels/products/{product.id}", f"/vendor/labels/batches/{movement.id}"):
        html = client.get(path).get_data(as_text=True)
        assert 'data-testid="no-label"' in html and 'data-testid="label"' not in html
        assert f'action="{path}"' in html
    assert db.session.scalars(select(TraceLabel)).all() == []


def test_an_unknown_label_is_not_found(client):
    assert client.get("/t/not-a-label").status_code == 404


def test_the_label_keeps_a_count_and_nothing_about_scanners():
    assert set(TraceLabel.__table__.c.keys()) == {
        "id",
        "token",
        "vendor_id",
        "product_id",
        "movement_id",
        "scans",
        "created_at",
    }


def test_the_vendor_sees_its_labels_and_scans(client, auth, vendor, product):
    _certified(product)
    movement = receive(product, 4, note="荔枝第一批")
    auth.login(vendor.email)
    _print(client, f"/vendor/labels/products/{product.id}")
    client.get(f"/t/{_label(product_id=product.id, movement_id=None).token}")
    html = client.get("/vendor/labels").get_data(as_text=True)
    assert product.name in html and "荔枝第一批" in html
    assert f"/vendor/labels/batches/{movement.id}" in html
    assert '<td class="text-end" data-testid="scans">1</td>' in html
    assert "未打印" in html  # the batch's label was never printed


def test_the_bureau_prints_any_certified_products_label(client, auth, product):
    _certified(product)
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    auth.login(bureau.email)
    html = _print(client, f"/bureau/labels/products/{product.id}").get_data(as_text=True)
    assert html.count('data-testid="label"') == labels.PER_SHEET
    assert _label(product_id=product.id).vendor_id == product.vendor_id


def test_a_vendor_may_not_use_the_bureau_sheet(client, auth, vendor, other_product):
    _certified(other_product)
    auth.login(vendor.email)
    assert client.get(f"/bureau/labels/products/{other_product.id}").status_code == 403
    assert client.post(f"/bureau/labels/products/{other_product.id}").status_code == 403


def test_an_expired_certificate_refuses_a_batch_label(client, auth, vendor, product):
    _certified(
        product,
        certified_on=local_today() - timedelta(days=400),
        valid_until=local_today() - timedelta(days=1),
    )
    movement = receive(product, 2)
    auth.login(vendor.email)
    response = _print(client, f"/vendor/labels/batches/{movement.id}")
    assert "只有认定有效的产品才能打印溯源标签" in response.get_data(as_text=True)


def test_the_qr_code_encodes_the_short_link():
    url = "http://localhost/t/abcdefghijkl"
    svg = str(labels.qr_svg(url))
    assert svg == segno.make(url, error="m").svg_inline(omitsize=True, svgclass="qr", title=url)
    assert "style=" not in svg  # nothing the CSP would refuse


def test_the_stock_page_leads_to_the_products_batches(client, auth, vendor, product):
    _certified(product)
    mine = receive(product, 2, note="我的批次")
    other = _certified(ProductFactory(vendor=product.vendor), number="FP-2026-0044")
    receive(other, 3, note="别的产品批次")
    auth.login(vendor.email)
    stock_page = client.get(f"/vendor/stock/{product.id}").get_data(as_text=True)
    assert f"/vendor/labels/batches?product={product.id}" in stock_page
    html = client.get(f"/vendor/labels/batches?product={product.id}").get_data(as_text=True)
    assert "我的批次" in html and "别的产品批次" not in html
    assert f"/vendor/labels/batches/{mine.id}" in html
