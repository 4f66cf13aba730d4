"""`import products`, `import benefit-links` and `certifications expiring` (docs/formats.md)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from catalog.links import links_in_force
from catalog.models import ALWAYS, BenefitLink, Category, Certification, Product
from catalog.products import seed_categories, validate_tiers
from marketplace.errors import ValidationError
from marketplace.extensions import db

from ..factories import HouseholdFactory, OrgFactory

HEADER = "sku,vendor_code,name,category,unit,price,certificate_no,certified_on,valid_until,stock\n"


@pytest.fixture
def vendor():
    seed_categories()
    return OrgFactory(code="V001", name="永兴荔枝合作社")


def run(runner, tmp_path, command, content, *args, encoding="utf-8"):
    path = tmp_path / f"{command}.csv"
    path.write_bytes(content.encode(encoding))
    return runner.invoke(args=["import", command, str(path), *args])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_products_import_creates_products_and_certifications(runner, tmp_path, vendor):
    content = HEADER + (
        "LZ-1,V001,妃子笑荔枝,荔枝,箱,68.5,HKFP-1,2026-01-01,2026-12-31,10\n"
        "LZ-2,V001,荔枝干,荔枝,袋,45,,,,\n"
    )
    result = run(runner, tmp_path, "products", content)
    assert result.exit_code == 0, result.output
    assert "products: 2 created, 0 updated" in result.output
    assert "certifications: 1 created, 0 updated" in result.output
    product = db.session.scalar(select(Product).where(Product.sku == "LZ-1"))
    assert product.price == 6850 and product.vendor_id == vendor.id
    assert "永兴荔枝合作社" in product.search_text
    cert = db.session.scalar(select(Certification).where(Certification.product_id == product.id))
    assert (cert.certified_on, cert.valid_until) == (date(2026, 1, 1), date(2026, 12, 31))
    assert cert.covers(date(2026, 12, 31)) and not cert.covers(date(2027, 1, 1))


def test_products_reimport_updates_price_and_validity(runner, tmp_path, vendor):
    first = HEADER + "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,HKFP-1,2026-01-01,2026-06-30,\n"
    assert run(runner, tmp_path, "products", first).exit_code == 0
    second = HEADER + "LZ-1,V001,妃子笑荔枝,荔枝,箱,72.00,HKFP-1,2026-01-01,2026-12-31,\n"
    result = run(runner, tmp_path, "products", second)
    assert "products: 0 created, 1 updated" in result.output
    assert "certifications: 0 created, 1 updated" in result.output
    assert db.session.scalar(select(Product.price)) == 7200
    assert db.session.scalar(select(Certification.valid_until)) == date(2026, 12, 31)
    assert count(Product) == 1 and count(Certification) == 1


def test_products_import_reports_every_bad_row_and_writes_nothing(runner, tmp_path, vendor):
    content = HEADER + (
        "OK-1,V001,好产品,荔枝,箱,10,,,,\n"  # row 2 fine
        "B-3,NOPE,产品,荔枝,箱,10,,,,\n"  # row 3 unknown vendor
        "B-4,V001,产品,荔枝,箱,10.123,,,,\n"  # row 4 three decimals
        "B-5,V001,产品,荔枝,箱,10,HK-5,,2026-12-31,\n"  # row 5 certified_on missing
        "B-6,V001,产品,荔枝,箱,10,,2026-01-01,,\n"  # row 6 date without certificate
        "B-7,V001,产品,荔枝,箱,10,HK-7,2026-05-01,2026-04-30,\n"  # row 7 ends before start
        "B-8,V001,产品,荔枝,箱,0,,,,\n"  # row 8 zero price
        "B-9,V001,产品,荔枝,箱,10,,,,-1\n"  # row 9 negative stock
        "B-10,V001,产品,荔枝,箱,10,HK-7,2026-01-01,2026-12-31,\n"  # row 10 duplicate cert
    )
    result = run(runner, tmp_path, "products", content)
    assert result.exit_code == 1
    for expected in [
        "row 3: vendor_code:",
        "row 4: price:",
        "row 5: certified_on:",
        "row 6: certified_on:",
        "row 7: valid_until:",
        "row 8: price:",
        "row 9: stock:",
        "row 10: certificate_no:",
    ]:
        assert expected in result.output
    assert "row 2:" not in result.output
    assert count(Product) == 0 and count(Certification) == 0


def test_products_certificate_number_of_another_product_is_refused(runner, tmp_path, vendor):
    run(runner, tmp_path, "products", HEADER + "A,V001,甲,荔枝,箱,1,HK-1,2026-01-01,2026-12-31,\n")
    result = run(
        runner, tmp_path, "products", HEADER + "B,V001,乙,荔枝,箱,1,HK-1,2026-01-01,2026-12-31,\n"
    )
    assert result.exit_code == 1
    assert "row 2: certificate_no:" in result.output
    assert count(Product) == 1


def test_products_dry_run_and_new_category(runner, tmp_path, vendor):
    content = HEADER + "X-1,V001,椰雕,椰雕工艺,个,30,,,,\n"
    result = run(runner, tmp_path, "products", content, "--dry-run")
    assert result.exit_code == 0
    assert "dry run, nothing written: products: 1 created, 0 updated" in result.output
    assert count(Product) == 0
    assert db.session.scalar(select(Category.id).where(Category.name == "椰雕工艺")) is None
    assert run(runner, tmp_path, "products", content).exit_code == 0
    assert db.session.scalar(select(Category.id).where(Category.name == "椰雕工艺"))


def test_products_gb18030_file(runner, tmp_path, vendor):
    content = HEADER + "LZ-9,V001,白糖罂荔枝,荔枝,斤,9.9,,,,\n"
    result = run(runner, tmp_path, "products", content, encoding="gb18030")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Product.name)) == "白糖罂荔枝"


LINKS = "sku,household_code,weight,valid_from\n"


@pytest.fixture
def product(runner, tmp_path, vendor):
    run(runner, tmp_path, "products", HEADER + "LZ-1,V001,荔枝,荔枝,箱,68,,,,\n")
    return db.session.scalar(select(Product))


def test_benefit_links_versions_and_replacement(runner, tmp_path, product):
    a, b, c = (HouseholdFactory(code=code) for code in ("H-A", "H-B", "H-C"))
    content = LINKS + "LZ-1,H-A,1,\nLZ-1,H-B,2.5,\nLZ-1,H-A,1,2026-07-01\nLZ-1,H-C,3,2026-07-01\n"
    result = run(runner, tmp_path, "benefit-links", content)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "benefit-links: 2 versions created, 0 versions replaced, 4 links" in result.output

    def in_force(day):
        return {(link.household_id, link.weight) for link in links_in_force(product.id, day)}

    assert in_force(date(2026, 6, 30)) == {(a.id, Decimal("1")), (b.id, Decimal("2.5"))}
    assert in_force(date(2026, 7, 1)) == {(a.id, Decimal("1")), (c.id, Decimal("3"))}
    # importing a version again replaces that version's whole set, nothing else
    result = run(runner, tmp_path, "benefit-links", LINKS + "LZ-1,H-C,4,2026-07-01\n")
    assert "0 versions created, 1 versions replaced, 1 links" in result.output
    assert in_force(date(2027, 1, 1)) == {(c.id, Decimal("4"))}
    assert in_force(date(2026, 1, 1)) == {(a.id, Decimal("1")), (b.id, Decimal("2.5"))}
    assert db.session.scalar(select(func.count()).where(BenefitLink.valid_from == ALWAYS)) == 2


def test_links_before_any_dated_version_are_empty(runner, tmp_path, product):
    HouseholdFactory(code="H-A")
    run(runner, tmp_path, "benefit-links", LINKS + "LZ-1,H-A,1,2026-07-01\n")
    assert links_in_force(product.id, date(2026, 6, 30)) == []
    assert len(links_in_force(product.id, date(2026, 7, 1))) == 1


def test_benefit_links_bad_rows(runner, tmp_path, product):
    HouseholdFactory(code="H-A")
    content = LINKS + (
        "NOPE,H-A,1,\n"  # 2 unknown sku
        "LZ-1,H-X,1,\n"  # 3 unknown household
        "LZ-1,H-A,0,\n"  # 4 zero weight
        "LZ-1,H-A,-2,\n"  # 5 negative
        "LZ-1,H-A,abc,\n"  # 6 not a number
        "LZ-1,H-A,1,2026/07/01\n"  # 7 bad date
        "LZ-1,H-A,1,\n"  # 8 fine
        "LZ-1,H-A,2,\n"  # 9 duplicate of 8
    )
    result = run(runner, tmp_path, "benefit-links", content)
    assert result.exit_code == 1
    for expected in [
        "row 2: sku:",
        "row 3: household_code:",
        "row 4: weight:",
        "row 5: weight:",
        "row 6: weight:",
        "row 7: valid_from:",
        "row 9: household_code:",
    ]:
        assert expected in result.output
    assert "row 8:" not in result.output
    assert count(BenefitLink) == 0


def test_certifications_expiring_command(runner, tmp_path, vendor):
    today = date(2026, 11, 28)
    rows = [
        ("S-5", today + timedelta(days=5)),
        ("S-60", today + timedelta(days=60)),
        ("S-120", today + timedelta(days=120)),
        ("S-OLD", today - timedelta(days=1)),
    ]
    content = HEADER + "".join(
        f"{sku},V001,{sku},荔枝,箱,1,C-{sku},2026-01-01,{end.isoformat()},\n" for sku, end in rows
    )
    assert run(runner, tmp_path, "products", content).exit_code == 0
    out = runner.invoke(args=["certifications", "expiring", "--today", "2026-11-28"]).output
    assert "C-S-5" in out and "C-S-60" in out
    assert "C-S-120" not in out and "C-S-OLD" not in out
    out = runner.invoke(
        args=["certifications", "expiring", "--days", "30", "--today", "2026-11-28"]
    ).output
    assert "C-S-5" in out and "C-S-60" not in out
    assert "1 expiring within 30 days" in out


def test_price_tiers_must_not_increase():
    assert validate_tiers(1000, [(50, 800), (10, 900)]) == [(10, 900), (50, 800)]
    with pytest.raises(ValidationError):
        validate_tiers(1000, [(10, 900), (50, 950)])
    with pytest.raises(ValidationError):
        validate_tiers(1000, [(10, 1100)])
    with pytest.raises(ValidationError):
        validate_tiers(1000, [(1, 900)])


@pytest.mark.parametrize("value", ["1e400", "9" * 40, "1e-400", "0.0000001"])
def test_an_absurd_benefit_link_weight_is_a_row_error_not_a_crash(value):
    from catalog.imports import _weight

    with pytest.raises(ValueError):
        _weight(value)
