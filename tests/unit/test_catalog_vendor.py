"""The seller's side of the catalog: its products, photos, certification applications
and expiry reminders (issue 3, items 1-3 and 5; STYLE.md habit 8: another vendor's id
gives 404 and changes nothing)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from catalog.models import (
    Certification,
    CertStatus,
    HeldReport,
    PriceTier,
    Product,
    ProductImage,
)
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import AuditEntry, OrgKind, Role

from ..catalog_factories import CategoryFactory, CertificationFactory, ProductFactory
from ..factories import (
    HouseholdFactory,
    MembershipFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    member_of,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload_dir(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.fixture
def home():
    """The vendor's village: households of its town are the ones it may name."""
    return VillageFactory(name="本村")


@pytest.fixture
def vendor(home):
    return member_of(
        OrgKind.COOPERATIVE, Role.STAFF, district=home.town.district, town=home.town, village=home
    )


@pytest.fixture
def product(org):
    return ProductFactory(vendor=org, name="高州荔枝", sku="LZ-0001", price=3000, unit="箱")


@pytest.fixture
def other_product():
    """A product of another vendor."""
    return ProductFactory(name="别家的蜂蜜", price=5000, unit="瓶")


@pytest.fixture
def login(auth):
    def do(user):
        response = auth.login(user.email)
        assert response.status_code == 302
        return user

    return do


def product_form(**overrides) -> dict:
    data = {
        "name": "徐闻菠萝",
        "category_id": str(CategoryFactory(name="热带水果").id),
        "description": "甜",
        "specification": "5 斤/箱",
        "unit": "箱",
        "price": "12.50",
        "origin_village_id": "",
        "shelf_life": "常温 7 天",
        "status": "active",
        "min_order_qty": "10",
    }
    for i in range(5):
        data[f"tiers-{i}-min_qty"] = ""
        data[f"tiers-{i}-unit_price"] = ""
    data.update(overrides)
    return data


def cert_form(**overrides) -> dict:
    data = {
        "benefit_mode": "purchase",
        "households": "",
        "expected_annual_value": "50000.00",
        "test_report": (io.BytesIO(PDF), "report.pdf", "application/pdf"),
        "test_report_valid_until": (local_today() + timedelta(days=300)).isoformat(),
        "note": "",
    }
    data.update(overrides)
    return data


def fetch(client, url: str):
    """GET a file response and close it (send_file keeps the file open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- who may enter


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(),  # a citizen
        lambda: member_of(OrgKind.AGENCY, Role.ADMIN),
        lambda: member_of(OrgKind.AGENCY, Role.BUYER),
        lambda: member_of(OrgKind.BUREAU, Role.STAFF),
    ],
    ids=["citizen", "agency_admin", "agency_buyer", "bureau_staff"],
)
def test_non_sellers_get_403_on_vendor_pages(client, login, make_user, other_product):
    login(make_user())
    for url in (
        "/vendor",
        "/vendor/products",
        "/vendor/products/new",
        f"/vendor/products/{other_product.id}/edit",
        f"/vendor/products/{other_product.id}/certify",
    ):
        assert client.get(url).status_code == 403, url
    assert "我的店铺" not in client.get("/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/vendor/products")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_seller_sees_shop_menu(client, login, vendor):
    login(vendor)
    html = client.get("/").get_data(as_text=True)
    assert "我的店铺" in html
    assert "/vendor/products" in html


# ---------------------------------------------------------------- product list


def test_list_shows_price_and_certification_state(client, login, vendor, org, product):
    CertificationFactory(product=product, valid_until=local_today() + timedelta(days=100))
    pending = ProductFactory(vendor=org, name="莲雾礼盒", price=123456)
    CertificationFactory(product=pending, status=CertStatus.PENDING)
    rejected = ProductFactory(vendor=org, name="走地鸡")
    CertificationFactory(product=rejected, status=CertStatus.REJECTED, reason="材料不全")
    expired = ProductFactory(vendor=org, name="沉香")
    CertificationFactory(
        product=expired,
        certified_on=local_today() - timedelta(days=400),
        valid_until=local_today() - timedelta(days=2),
    )
    ProductFactory(vendor=org, name="对虾")
    login(vendor)
    html = client.get("/vendor/products").get_data(as_text=True)
    assert "30.00 / 箱" in html
    assert "1,234.56" in html
    until = (local_today() + timedelta(days=100)).isoformat()
    assert f"已认定，有效期至 {until}" in html
    assert "认定审核中" in html
    assert "认定申请被驳回" in html
    assert "认定已过期" in html
    assert "未认定" in html
    assert f"/vendor/products/{product.id}/certify" in html
    assert "别家的蜂蜜" not in html


def test_list_search_and_status_filter(client, login, vendor, org, product, other_product):
    ProductFactory(vendor=org, name="农家蜂蜜", sku="FM-9", status="draft")
    login(vendor)
    by_name = client.get("/vendor/products?q=荔枝").get_data(as_text=True)
    assert "高州荔枝" in by_name and "农家蜂蜜" not in by_name
    by_sku = client.get("/vendor/products?q=FM-9").get_data(as_text=True)
    assert "农家蜂蜜" in by_sku and "高州荔枝" not in by_sku
    drafts = client.get("/vendor/products?status=draft").get_data(as_text=True)
    assert "农家蜂蜜" in drafts and "高州荔枝" not in drafts
    # another vendor's product never shows, even when searched for
    assert "别家的蜂蜜" not in client.get("/vendor/products?q=蜂蜜").get_data(as_text=True)
    assert "没有符合条件的产品" in client.get("/vendor/products?q=不存在").get_data(as_text=True)


def test_list_paginates(client, login, vendor, org, app):
    per_page = app.config["PAGE_SIZE"]
    for i in range(per_page + 3):
        ProductFactory(vendor=org, name=f"批量产品{i:03d}")
    login(vendor)
    first = client.get("/vendor/products").get_data(as_text=True)
    second = client.get("/vendor/products?page=2").get_data(as_text=True)
    assert first.count("批量产品") == per_page
    assert second.count("批量产品") == 3
    assert client.get("/vendor/products?page=99").status_code == 200


def test_empty_list_invites_to_add_a_product(client, login, vendor):
    login(vendor)
    html = client.get("/vendor/products").get_data(as_text=True)
    assert "您还没有产品" in html
    assert "添加第一个产品" in html and "/vendor/products/new" in html


# ---------------------------------------------------------------- create and edit


def test_create_product_with_tiers(client, login, vendor, org):
    village = VillageFactory(name="石龙村")
    login(vendor)
    assert "石龙村" in client.get("/vendor/products/new").get_data(as_text=True)
    data = product_form(
        origin_village_id=str(village.id),
        **{
            "tiers-0-min_qty": "50",
            "tiers-0-unit_price": "11",
            "tiers-1-min_qty": "10",
            "tiers-1-unit_price": "12.00",
        },
    )
    response = client.post("/vendor/products/new", data=data)
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.vendor_id == org.id))
    assert product.name == "徐闻菠萝"
    assert product.price == 1250
    assert product.origin_village_id == village.id
    assert product.min_order_qty == 10
    assert [(t.min_qty, t.unit_price) for t in product.tiers] == [(10, 1200), (50, 1100)]
    # the edit page shows the stored values back in yuan
    html = client.get(f"/vendor/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="12.50"' in html and 'value="11.00"' in html


def test_price_with_three_decimals_is_refused(client, login, vendor, org):
    login(vendor)
    response = client.post("/vendor/products/new", data=product_form(price="12.345"))
    assert response.status_code == 200
    assert "金额最多保留两位小数" in response.get_data(as_text=True)
    assert count(Product) == 0


def test_increasing_tiers_are_refused_with_a_message(client, login, vendor, product):
    login(vendor)
    data = product_form(
        name="改名",
        **{
            "tiers-0-min_qty": "10",
            "tiers-0-unit_price": "25.00",
            "tiers-1-min_qty": "50",
            "tiers-1-unit_price": "26.00",
        },
    )
    response = client.post(f"/vendor/products/{product.id}/edit", data=data)
    assert response.status_code == 200
    assert "批量价必须随数量增加而不升高" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == "高州荔枝"
    assert count(PriceTier) == 0


def test_tier_above_retail_price_is_refused(client, login, vendor, org):
    login(vendor)
    data = product_form(**{"tiers-0-min_qty": "10", "tiers-0-unit_price": "13.00"})
    response = client.post("/vendor/products/new", data=data)
    assert "批量价必须随数量增加而不升高" in response.get_data(as_text=True)
    assert count(Product) == 0


def test_edit_own_product(client, login, vendor, product):
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/edit",
        data=product_form(name="高州白糖罂荔枝", price="35", status="archived"),
    )
    assert response.status_code == 302
    db.session.expire_all()
    edited = db.session.get(Product, product.id)
    assert (edited.name, edited.price, edited.status) == ("高州白糖罂荔枝", 3500, "archived")


def test_edit_product_with_tiers_keeps_changes_and_replaces_tiers(client, login, vendor, product):
    """Issue 9 item 11: the edit form posts the same tiers back (and a changed set);
    new rows used to be inserted before the old ones were deleted (unique violation)."""
    product.tiers = [PriceTier(min_qty=10, unit_price=2800), PriceTier(min_qty=50, unit_price=2500)]
    db.session.commit()
    login(vendor)
    same = {
        "tiers-0-min_qty": "10",
        "tiers-0-unit_price": "28.00",
        "tiers-1-min_qty": "50",
        "tiers-1-unit_price": "25.00",
    }
    response = client.post(
        f"/vendor/products/{product.id}/edit",
        data=product_form(name="高州荔枝 5 斤", price="30", **same),
    )
    assert response.status_code == 302
    assert snapshot(product.id)[0] == "高州荔枝 5 斤"
    assert snapshot(product.id)[3] == [(10, 2800), (50, 2500)]

    changed = {
        "tiers-0-min_qty": "50",
        "tiers-0-unit_price": "24.00",
        "tiers-1-min_qty": "100",
        "tiers-1-unit_price": "20.00",
        "tiers-2-min_qty": "5",
        "tiers-2-unit_price": "29.00",
    }
    response = client.post(
        f"/vendor/products/{product.id}/edit", data=product_form(price="30", **changed)
    )
    assert response.status_code == 302
    assert snapshot(product.id)[3] == [(5, 2900), (50, 2400), (100, 2000)]
    assert count(PriceTier) == 3

    response = client.post(f"/vendor/products/{product.id}/edit", data=product_form(price="30"))
    assert response.status_code == 302
    assert snapshot(product.id)[3] == []
    assert count(PriceTier) == 0


# ---------------------------------------------------------------- vendor isolation


def snapshot(product_id: int) -> tuple:
    db.session.expire_all()
    p = db.session.get(Product, product_id)
    return (
        p.name,
        p.price,
        p.status,
        [(t.min_qty, t.unit_price) for t in p.tiers],
        [i.filename for i in p.images],
        [(c.id, c.status) for c in p.certifications],
    )


def test_vendor_cannot_touch_another_vendors_product(client, login, vendor, other_product, app):
    household = HouseholdFactory(code="HH-ISO-1")
    CertificationFactory(product=other_product, status=CertStatus.APPROVED)
    image = ProductImage(
        product_id=other_product.id,
        filename="a" * 32 + ".png",
        thumb_filename="a" * 32 + "_t.png",
        width=1,
        height=1,
    )
    db.session.add(image)
    db.session.commit()
    before = snapshot(other_product.id)
    audit_before = count(AuditEntry)
    files_before = files_under(upload_dir(app))
    login(vendor)
    pid = other_product.id

    assert client.get(f"/vendor/products/{pid}/edit").status_code == 404
    assert (
        client.post(f"/vendor/products/{pid}/edit", data=product_form(name="被改了")).status_code
        == 404
    )
    upload = {"file": (io.BytesIO(png_bytes()), "p.png", "image/png")}
    assert client.post(f"/vendor/products/{pid}/images", data=upload).status_code == 404
    assert client.post(f"/vendor/products/{pid}/images/{image.id}/delete").status_code == 404
    assert client.get(f"/vendor/products/{pid}/certify").status_code == 404
    apply = cert_form(households=f"{household.code},1")
    assert client.post(f"/vendor/products/{pid}/certify", data=apply).status_code == 404

    assert snapshot(pid) == before
    assert count(AuditEntry) == audit_before
    assert files_under(upload_dir(app)) == files_before
    assert "被改了" not in str(before)


def test_vendor_cannot_delete_an_image_through_its_own_product_id(
    client, login, vendor, product, other_product
):
    image = ProductImage(
        product_id=other_product.id,
        filename="b" * 32 + ".png",
        thumb_filename="b" * 32 + "_t.png",
        width=1,
        height=1,
    )
    db.session.add(image)
    db.session.commit()
    login(vendor)
    response = client.post(f"/vendor/products/{product.id}/images/{image.id}/delete")
    assert response.status_code == 404
    assert db.session.get(ProductImage, image.id) is not None


def test_unknown_product_id_is_404(client, login, vendor):
    login(vendor)
    assert client.get("/vendor/products/999999/edit").status_code == 404


# ---------------------------------------------------------------- images


def upload(client, product_id, data: bytes, name: str):
    return client.post(
        f"/vendor/products/{product_id}/images",
        data={"file": (io.BytesIO(data), name)},
        follow_redirects=True,
    )


def test_text_file_renamed_jpg_is_refused(client, login, vendor, product, app):
    login(vendor)
    before = files_under(upload_dir(app))
    response = upload(client, product.id, b"just some text, not a photo\n" * 10, "photo.jpg")
    assert "只能上传 JPEG、PNG 或 WebP 格式的图片" in response.get_data(as_text=True)
    assert count(ProductImage) == 0
    assert files_under(upload_dir(app)) == before


def test_oversize_image_is_refused(client, login, vendor, product, app):
    login(vendor)
    before = files_under(upload_dir(app))
    big = png_bytes() + b"\0" * (5 * 1024 * 1024)  # a valid PNG head, over 5 MB in all
    response = upload(client, product.id, big, "big.png")
    assert "图片不能超过 5 MB" in response.get_data(as_text=True)
    assert count(ProductImage) == 0
    assert files_under(upload_dir(app)) == before


def test_path_in_upload_name_is_ignored(client, login, vendor, product, app):
    root = upload_dir(app)
    outside = root.parent
    outside_before = {p for p in files_under(outside) if root not in p.parents}
    login(vendor)
    response = upload(client, product.id, png_bytes(), "../../x.png")
    assert "图片已上传" in response.get_data(as_text=True)
    image = db.session.scalar(select(ProductImage))
    for name in (image.filename, image.thumb_filename):
        assert re.fullmatch(r"[a-f0-9]{32}(_t)?\.png", name)
        assert (root / "images" / name).is_file()
    assert {p for p in files_under(outside) if root not in p.parents} == outside_before
    assert not list(outside.parent.rglob("x.png"))
    assert not (root / "images" / "../../x.png").exists()
    assert not Path("x.png").exists()
    html = client.get(f"/vendor/products/{product.id}/edit").get_data(as_text=True)
    assert "x.png" not in html


def test_valid_png_is_reencoded_thumbnailed_and_served(client, login, vendor, product, app):
    login(vendor)
    original = png_bytes(size=(2000, 1000))
    response = upload(client, product.id, original, "farm.png")
    assert "图片已上传" in response.get_data(as_text=True)
    image = db.session.scalar(select(ProductImage).where(ProductImage.product_id == product.id))
    folder = upload_dir(app) / "images"
    stored = (folder / image.filename).read_bytes()
    assert stored != original  # re-encoded (and scaled down), not the upload as it came
    with Image.open(folder / image.filename) as large:
        assert large.format == "PNG" and max(large.size) <= 1600
    with Image.open(folder / image.thumb_filename) as thumb:
        assert thumb.format == "PNG" and max(thumb.size) <= 400
    served = fetch(client, f"/media/images/{image.thumb_filename}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert Image.open(io.BytesIO(served.data)).size == thumb.size
    html = client.get(f"/vendor/products/{product.id}/edit").get_data(as_text=True)
    assert f"/media/images/{image.thumb_filename}" in html


@pytest.mark.parametrize(
    "name", ["0" * 32 + ".png", "farm.png", "..%2F..%2Fetc%2Fpasswd", "a" * 32 + ".exe"]
)
def test_unknown_or_malformed_image_names_are_404(client, name):
    assert client.get(f"/media/images/{name}").status_code == 404


def test_delete_image_removes_its_files(client, login, vendor, product, app):
    login(vendor)
    upload(client, product.id, png_bytes(), "p.png")
    image = db.session.scalar(select(ProductImage))
    folder = upload_dir(app) / "images"
    names = (image.filename, image.thumb_filename)
    response = client.post(f"/vendor/products/{product.id}/images/{image.id}/delete")
    assert response.status_code == 302
    assert count(ProductImage) == 0
    assert not any((folder / n).exists() for n in names)
    assert client.get(f"/media/images/{names[0]}").status_code == 404


# ---------------------------------------------------------------- certification


def test_apply_for_certification(client, home, login, vendor, product, app):
    HouseholdFactory(village=home, code="HH-A-1", head_name="王大")
    HouseholdFactory(village=home, code="HH-A-2", head_name="李二")
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify",
        data=cert_form(households="HH-A-1,2\nHH-A-2，1.5\n\n", note="收购农户荔枝"),
    )
    assert response.status_code == 302
    cert = db.session.scalar(select(Certification))
    assert cert.status == CertStatus.PENDING
    assert cert.product_id == product.id
    assert cert.benefit_mode == "purchase"
    assert cert.expected_annual_value == 5_000_000
    assert sorted((h.household.code, str(h.weight.normalize())) for h in cert.households) == [
        ("HH-A-1", "2"),
        ("HH-A-2", "1.5"),
    ]
    assert (upload_dir(app) / "reports" / cert.test_report_file).read_bytes() == PDF
    html = client.get(f"/vendor/products/{product.id}/certify").get_data(as_text=True)
    assert "认定审核中" in html and "2 户" in html
    assert "王大" not in html and "李二" not in html
    report = fetch(client, f"/vendor/reports/{cert.test_report_file}")
    assert report.status_code == 200
    assert report.headers["Content-Type"] == "application/pdf"


def test_unknown_household_code_is_refused_and_writes_nothing(
    client, home, login, vendor, product, app
):
    HouseholdFactory(village=home, code="HH-K-1", head_name="张三")
    other = HouseholdFactory(code="HH-K-2", head_name="赵四")
    before = files_under(upload_dir(app))
    audit_before = count(AuditEntry)
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify",
        data=cert_form(households="HH-K-1,1\nNOPE-404,1"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "以下户编码无法使用：NOPE-404" in html
    # nothing about the register beyond what the vendor typed
    for secret in ("张三", other.code, other.head_name):
        assert secret not in html
    assert count(Certification) == 0
    assert count(AuditEntry) == audit_before
    # only the PDF, held for the next try (tests/unit/test_certification_picker.py)
    assert len(files_under(upload_dir(app)) - before) == 1
    assert count(HeldReport) == 1


def test_non_pdf_test_report_is_refused(client, home, login, vendor, product, app):
    HouseholdFactory(village=home, code="HH-P-1")
    before = files_under(upload_dir(app))
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify",
        data=cert_form(
            households="HH-P-1,1",
            test_report=(io.BytesIO(png_bytes()), "report.pdf", "application/pdf"),
        ),
    )
    assert response.status_code == 200
    assert "检测报告必须是 PDF 文件" in response.get_data(as_text=True)
    assert count(Certification) == 0
    assert files_under(upload_dir(app)) == before


def test_bad_household_lines_are_reported(client, login, vendor, product):
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify",
        data=cert_form(households="HH-1,1\nHH-2,-3"),
    )
    assert "第 2 行的权重必须是正数" in response.get_data(as_text=True)
    assert count(Certification) == 0


def test_second_pending_application_is_refused(client, home, login, vendor, product):
    HouseholdFactory(village=home, code="HH-D-1")
    CertificationFactory(product=product, status=CertStatus.PENDING)
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify",
        data=cert_form(households="HH-D-1,1"),
        follow_redirects=True,
    )
    assert "已有待审核的认定申请" in response.get_data(as_text=True)
    assert count(Certification) == 1


def household_error(html: str) -> str:
    """The message the form shows beside the households field."""
    match = re.search(
        r'id="households".*?<div class="invalid-feedback[^"]*">(.*?)</div>', html, re.S
    )
    assert match, "no error beside the households field"
    return " ".join(match.group(1).split())


def test_codes_of_another_town_get_the_same_answer_as_codes_that_do_not_exist(
    client, home, login, vendor, product, app
):
    HouseholdFactory(village=home, code="HH-OWN-1")
    elsewhere = HouseholdFactory(code="HH-FAR-1", head_name="远方户")  # another town
    assert elsewhere.village.town_id != home.town_id
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    answers = {}
    for code in (elsewhere.code, "HH-NONE-1"):
        response = client.post(url, data=cert_form(households=f"HH-OWN-1,1\n{code},1"))
        assert response.status_code == 200
        answers[code] = household_error(response.get_data(as_text=True)).replace(code, "<code>")
        assert "远方户" not in response.get_data(as_text=True)
    assert answers[elsewhere.code] == answers["HH-NONE-1"]
    assert "以下户编码无法使用：<code>" in answers["HH-NONE-1"]
    assert "HH-OWN-1" not in answers["HH-NONE-1"]  # the vendor's own household is fine
    assert count(Certification) == 0


def test_households_of_the_vendors_town_in_other_villages_are_accepted(
    client, home, login, vendor, product
):
    neighbour = VillageFactory(town=home.town, name="邻村")
    HouseholdFactory(village=neighbour, code="HH-NB-1")
    login(vendor)
    response = client.post(
        f"/vendor/products/{product.id}/certify", data=cert_form(households="HH-NB-1")
    )
    assert response.status_code == 302
    assert [h.household.code for h in db.session.scalar(select(Certification)).households] == [
        "HH-NB-1"
    ]


def test_scope_is_the_town_or_the_district_of_the_vendor():
    from catalog.certification import vendor_households
    from marketplace.models import Organization

    village = VillageFactory()
    same_town = HouseholdFactory(village=VillageFactory(town=village.town))
    same_district = HouseholdFactory(
        village=VillageFactory(town=TownFactory(district=village.town.district))
    )
    far = HouseholdFactory()
    codes = [same_town.code, same_district.code, far.code]
    in_town = Organization(name="镇上合作社", kind=OrgKind.COOPERATIVE, town_id=village.town_id)
    in_village = Organization(name="村里合作社", kind=OrgKind.COOPERATIVE, village=village)
    in_district = Organization(
        name="区里公司", kind=OrgKind.ENTERPRISE, district_id=village.town.district_id
    )
    nowhere = Organization(name="无址公司", kind=OrgKind.ENTERPRISE)
    assert set(vendor_households(in_town, codes)) == {same_town.code}
    assert set(vendor_households(in_village, codes)) == {same_town.code}
    assert set(vendor_households(in_district, codes)) == {same_town.code, same_district.code}
    assert vendor_households(nowhere, codes) == {}


def test_at_most_200_households_per_application(client, home, login, vendor, product):
    codes = [HouseholdFactory(village=home).code for _ in range(201)]
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    response = client.post(url, data=cert_form(households="\n".join(codes)))
    assert response.status_code == 200
    assert "一次最多填写 200 户" in household_error(response.get_data(as_text=True))
    assert count(Certification) == 0
    response = client.post(url, data=cert_form(households="\n".join(codes[:200])))
    assert response.status_code == 302
    assert len(db.session.scalar(select(Certification)).households) == 200


def test_the_service_refuses_more_than_200_households(vendor, org, product):
    from catalog.certification import CertificationApplication, apply_for_certification
    from marketplace.errors import ValidationError

    application = CertificationApplication(
        benefit_mode="purchase",
        households=[(f"HH-{i}", Decimal(1)) for i in range(201)],
        expected_annual_value=0,
        test_report_file="0123456789abcdef0123456789abcdef.pdf",
        test_report_valid_until=date.today() + timedelta(days=30),
    )
    with pytest.raises(ValidationError, match="一次最多填写 200 户"):
        apply_for_certification(vendor, org, product.id, application)


def test_certification_submits_are_limited_to_20_an_hour_per_user(
    client, auth, login, vendor, org, product
):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    for _ in range(20):
        assert client.post(url, data={"households": "GUESS-1"}).status_code == 200
    assert client.post(url, data={"households": "GUESS-2"}).status_code == 429
    assert client.get(url).status_code == 200  # the form and history still show
    auth.logout()
    login(MembershipFactory(org=org, role=Role.STAFF).user)  # a colleague has their own
    assert client.post(url, data={"households": "GUESS-3"}).status_code == 200


def test_certification_submits_are_limited_per_organization(
    client, auth, login, vendor, org, product, app, monkeypatch
):
    monkeypatch.setitem(app.config, "CERTIFY_ORG_RATE_LIMIT", "3 per hour")
    url = f"/vendor/products/{product.id}/certify"
    login(vendor)
    for _ in range(2):
        assert client.post(url, data={"households": "GUESS-1"}).status_code == 200
    auth.logout()
    login(MembershipFactory(org=org, role=Role.STAFF).user)
    assert client.post(url, data={"households": "GUESS-1"}).status_code == 200
    assert client.post(url, data={"households": "GUESS-2"}).status_code == 429


def test_history_shows_decisions_and_reasons(client, login, vendor, product):
    CertificationFactory(product=product, status=CertStatus.REJECTED, reason="检测报告已过期")
    CertificationFactory(product=product, certificate_no="FP-2024-0007")
    login(vendor)
    html = client.get(f"/vendor/products/{product.id}/certify").get_data(as_text=True)
    assert "检测报告已过期" in html and "已驳回" in html
    assert "FP-2024-0007" in html
    assert (local_today() + timedelta(days=335)).isoformat() in html


def test_test_report_only_for_its_vendor_and_the_bureau(client, home, auth, login, vendor, product):
    HouseholdFactory(village=home, code="HH-R-1")
    login(vendor)
    client.post(f"/vendor/products/{product.id}/certify", data=cert_form(households="HH-R-1"))
    name = db.session.scalar(select(Certification.test_report_file))
    assert fetch(client, f"/vendor/reports/{name}").status_code == 200
    assert client.get(f"/vendor/reports/{'f' * 32}.pdf").status_code == 404
    for outsider in (member_of(OrgKind.COOPERATIVE), UserFactory(), member_of(OrgKind.AGENCY)):
        auth.logout()
        login(outsider)
        assert fetch(client, f"/vendor/reports/{name}").status_code == 404
    auth.logout()
    login(member_of(OrgKind.BUREAU, Role.STAFF))
    assert fetch(client, f"/vendor/reports/{name}").status_code == 200


# ---------------------------------------------------------------- dashboard


def band(html: str, window: int) -> str:
    match = re.search(rf'data-testid="band-{window}".*?</section>', html, re.S)
    return match.group(0) if match else ""


def test_dashboard_groups_expiry_reminders_by_band(client, login, vendor, org):
    today = local_today()
    for name, days in (("五天到期", 5), ("六十天到期", 60), ("一百二十天到期", 120)):
        CertificationFactory(
            product=ProductFactory(vendor=org, name=name), valid_until=today + timedelta(days=days)
        )
    report = ProductFactory(vendor=org, name="报告将到期")
    CertificationFactory(
        product=report,
        valid_until=today + timedelta(days=300),
        test_report_valid_until=today + timedelta(days=20),
    )
    CertificationFactory(
        product=ProductFactory(name="别家五天到期"), valid_until=today + timedelta(days=5)
    )
    login(vendor)
    html = client.get("/vendor").get_data(as_text=True)
    assert "五天到期" in band(html, 7) and "六十天到期" not in band(html, 7)
    assert "六十天到期" in band(html, 90) and "五天到期" not in band(html, 90)
    assert "报告将到期" in band(html, 30) and "检测报告" in band(html, 30)
    assert "一百二十天到期" not in html
    assert "别家五天到期" not in html
    assert 'data-testid="count-certified">4<' in html


def test_dashboard_counts_and_quiet_state(client, login, vendor, org):
    ProductFactory(vendor=org, status="draft")
    ProductFactory(vendor=org, status="active")
    ProductFactory(vendor=org, status="active")
    login(vendor)
    html = client.get("/vendor").get_data(as_text=True)
    assert 'data-testid="count-active">2<' in html
    assert 'data-testid="count-draft">1<' in html
    assert 'data-testid="no-reminders"' in html


def test_a_product_is_marked_fresh_on_its_form(client, login, vendor, org):
    login(vendor)
    response = client.post("/vendor/products/new", data=product_form(is_fresh="y"))
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.vendor_id == org.id))
    assert product.is_fresh is True
    html = client.get(f"/vendor/products/{product.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked[^>]* name="is_fresh"', html)  # shown ticked
    client.post(f"/vendor/products/{product.id}/edit", data=product_form())
    db.session.refresh(product)
    assert product.is_fresh is False  # unticked
