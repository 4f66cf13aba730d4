"""Every CSV and XLSX the app writes goes through marketplace/tabular.py (issue 9, item 8):
text a vendor or an import chose is never a live formula in a spreadsheet, and numbers
stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

import pytest
from openpyxl import load_workbook

from marketplace import tabular
from marketplace.models import OrgKind, Role
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale
from vendors import stock
from vendors.stock import Goods, Ref

from ..catalog_factories import BenefitLinkFactory, ProductFactory
from ..factories import HouseholdFactory, MembershipFactory, OrgFactory, member_of

NASTY = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1"]


# ---------------------------------------------------------------- the module itself


@pytest.mark.parametrize("text", [*NASTY, "\r=1", "=1+1"])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert tabular.escape_text(text) == "'" + text
    assert tabular.unescape_text(tabular.escape_text(text)) == text


@pytest.mark.parametrize("text", ["高山大米", "RICE-1", "1+1", "it's", "'quoted", ""])
def test_ordinary_text_is_left_alone(text):
    assert tabular.escape_text(text) == text
    assert tabular.unescape_text(text) == text


def test_numbers_stay_numbers_and_text_is_text_in_both_formats():
    rows = [["-1+2", -5, Decimal("-12.50"), "#N/A", None]]
    assert csv_cells(tabular.to_csv(["a", "b", "c", "d", "e"], rows)) == [
        ["a", "b", "c", "d", "e"],
        ["'-1+2", "-5", "-12.50", "#N/A", ""],
    ]
    sheet = load_workbook(io.BytesIO(tabular.to_xlsx("t", ["a", "b", "c", "d", "e"], rows))).active
    text, number, money, error_like, empty = sheet[2]
    assert (text.data_type, text.value) == ("s", "'-1+2")
    assert (number.data_type, number.value) == ("n", -5)
    assert money.data_type == "n" and Decimal(str(money.value)) == Decimal("-12.50")
    assert (error_like.data_type, error_like.value) == ("s", "#N/A")  # not an error cell
    assert empty.value is None


# ---------------------------------------------------------------- every export of the app


def csv_cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


@pytest.fixture
def nasty_world():
    """A vendor whose products carry formula-like names and SKUs, sold on every channel,
    linked to a household whose imported name is formula-like too."""
    vendor = OrgFactory(name="=cmd|' /C calc'!A0", code="V-NASTY", kind=OrgKind.COOPERATIVE)
    staff = MembershipFactory(org=vendor, role=Role.STAFF).user
    household = HouseholdFactory(code="HH-NASTY", head_name="@SUM(A1)")
    products = []
    for n, name in enumerate(NASTY):
        product = ProductFactory(vendor=vendor, name=name, sku=f"{'=+-@'[n % 4]}SKU{n}")
        BenefitLinkFactory(product=product, household=household, weight=Decimal(1))
        stock.receive([Goods(product.id, 5)], Ref(note="-2+3"))
        record_paid_sale(
            Channel.COUNTER,
            [SaleItem(product, 1, 1000)],
            sale_date=date(2024, 3, 1),
            check_sellable=False,
            buyer_name="+86 柜台",
        )
        products.append(product)
    return {"vendor": staff, "household": household, "products": products}


def assert_safe_csv(data: bytes, expect: set[str]) -> None:
    cells = [c for row in csv_cells(data) for c in row]
    for cell in cells:
        assert is_number(cell) or not cell.startswith(tabular.FORMULA_TRIGGERS), cell
    assert {"'" + e for e in expect} <= set(cells)
    assert not set(expect) & set(cells)


def assert_safe_xlsx(data: bytes, expect: set[str]) -> None:
    sheet = load_workbook(io.BytesIO(data)).active
    values = set()
    numbers = 0
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            if isinstance(cell.value, str):
                assert cell.data_type == "s", (cell.coordinate, cell.value)
                assert not cell.value.startswith(tabular.FORMULA_TRIGGERS), cell.value
                values.add(cell.value)
            else:
                assert cell.data_type == "n" and isinstance(cell.value, int | float)
                numbers += 1
    assert {"'" + e for e in expect} <= values
    assert numbers, "numeric cells must stay numbers"


BUREAU_EXPORTS = {
    "product": set(NASTY),
    "vendor": {"=cmd|' /C calc'!A0"},
    "counter": {"+86 柜台"},
    "households": {"@SUM(A1)"},
    "summary": set(),
    "channels": set(),
    "monthly": set(),
    "geo": set(),
}


@pytest.mark.parametrize("name", sorted(BUREAU_EXPORTS))
def test_report_exports_are_safe(client, auth, nasty_world, name):
    auth.login(member_of(OrgKind.BUREAU, Role.STAFF).email)
    expect = BUREAU_EXPORTS[name]
    assert_safe_csv(client.get(f"/bureau/reports/export/{name}.csv").data, expect)
    assert_safe_xlsx(client.get(f"/bureau/reports/export/{name}.xlsx").data, expect)


@pytest.mark.parametrize("name", ["products", "months"])
def test_household_benefit_exports_are_safe(client, auth, nasty_world, name):
    auth.login(member_of(OrgKind.BUREAU, Role.STAFF).email)
    base = f"/bureau/households/{nasty_world['household'].id}/benefits/{name}"
    assert_safe_csv(client.get(f"{base}.csv").data, set(NASTY))
    assert_safe_xlsx(client.get(f"{base}.xlsx").data, set(NASTY))


def test_stock_exports_are_safe(client, auth, nasty_world):
    auth.login(nasty_world["vendor"].email)
    expect = set(NASTY) | {"-2+3"}
    assert_safe_csv(client.get("/vendor/stock/movements/export.csv").data, expect)
    assert_safe_xlsx(client.get("/vendor/stock/movements/export.xlsx").data, expect)
    skus = {p.sku for p in nasty_world["products"]}
    template = client.get("/vendor/stock/import/template.csv").data
    assert_safe_csv(template, skus)


def test_stock_template_with_escaped_skus_uploads_back(client, auth, nasty_world):
    """The importers take our own apostrophe off, so the template round-trips."""
    auth.login(nasty_world["vendor"].email)
    template = client.get("/vendor/stock/import/template.csv").data
    changed = template.replace(b",5,", b",7,")
    response = client.post(
        "/vendor/stock/import",
        data={"file": (io.BytesIO(changed), "stock.csv")},
        follow_redirects=True,
    )
    assert response.status_code == 200
    for product in nasty_world["products"]:
        assert stock.available(product.id) == 7
