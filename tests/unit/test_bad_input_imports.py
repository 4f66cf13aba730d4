"""Hostile CSV files to every registered import (issue 17, item 4), through the CLI
(``flask import <kind> FILE``) and the bureau's upload page: random rows under the real
header or a wrong one, the file encoded as UTF-8, UTF-8 with a BOM, UTF-16, GB18030 or
latin-1, with NULs, very long fields, formula injection and duplicated rows. Each run ends
in a summary or a list of errors, never a traceback, and a failed run writes nothing."""

from __future__ import annotations

import codecs
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace import registries
from marketplace.models import OrgKind, Role

from ..catalog_factories import ProductFactory
from ..conftest import TEST_PASSWORD
from ..factories import HouseholdFactory, member_of
from .bad_input import FUZZ, SCRIPT, row_counts, value

KINDS = ["households", "vendors", "products", "benefit-links", "fairs", "sales", "assessments"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "gb18030", "latin-1", "ascii"]


def importer_names(app) -> list[str]:
    with app.app_context():
        return list(registries.importers.get(app))


@pytest.fixture
def world():
    bureau = member_of(kind=OrgKind.BUREAU, role=Role.ADMIN)
    HouseholdFactory()
    ProductFactory()
    return {"bureau": bureau.email}


@st.composite
def csv_files(draw, importer) -> bytes:
    names = [c.name for c in importer.columns]
    header = draw(
        st.one_of(
            st.just(names),
            st.permutations(names),
            st.lists(st.one_of(st.sampled_from(names), st.text(max_size=12)), max_size=8),
        )
    )
    examples = {
        c.name: (importer.examples.get(c.name) or c.example or "") for c in importer.columns
    }
    cell = st.one_of(value, st.just(""))
    rows = draw(
        st.lists(
            st.lists(
                st.one_of(cell, st.sampled_from(list(examples.values()) or [""])),
                min_size=0,
                max_size=len(header) + 2,
            ),
            max_size=5,
        )
    )
    rows.append([examples.get(h, "") for h in header])
    if draw(st.booleans()):
        rows += rows[-1:]  # a duplicated row
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = text.replace(",", "\x00,", 1)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(
        encoding.removesuffix("-sig") if encoding == "utf-8-sig" else encoding, "replace"
    )
    if encoding == "utf-8-sig":
        data = codecs.BOM_UTF8 + data
    return data


def assert_all_or_nothing(before: dict, after: dict, failed: bool) -> None:
    if failed:
        assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}


@pytest.mark.parametrize("kind", KINDS)
def test_cli_import_of_hostile_csv_is_a_summary_or_errors_and_all_or_nothing(
    app, runner, world, tmp_path, kind
):
    importer = registries.importers.get(app)[kind]

    @FUZZ
    @given(
        data=csv_files(importer),
        encoding=st.sampled_from([None, None, "utf-16", "gb18030", "bogus"]),
    )
    def check(data, encoding):
        path = tmp_path / "in.csv"
        path.write_bytes(data)
        before = row_counts()
        args = ["import", kind, str(path)] + (["--encoding", encoding] if encoding else [])
        result = runner.invoke(args=args)
        after = row_counts()
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert "Traceback" not in result.output
        assert_all_or_nothing(before, after, result.exit_code == 1)

    check()


def test_the_registry_holds_no_importer_this_file_leaves_out(app):
    assert set(importer_names(app)) <= set(KINDS), (
        "a new importer: add it to the parametrize lists of this file"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_upload_page_of_hostile_csv_answers_a_page_and_writes_all_or_nothing(app, world, kind):
    importer = registries.importers.get(app)[kind]
    client = app.test_client()
    client.post("/login", data={"email": world["bureau"], "password": TEST_PASSWORD})

    @FUZZ
    @given(data=csv_files(importer), encoding=st.sampled_from(["", "", "utf-16", "bogus"]))
    def check(data, encoding):
        before = row_counts()
        response = client.post(
            "/bureau/imports",
            data={"kind": kind, "encoding": encoding, "file": (io.BytesIO(data), "in.csv")},
            content_type="multipart/form-data",
        )
        after = row_counts()
        assert response.status_code < 500
        body = response.get_data(as_text=True)
        assert SCRIPT not in body
        failed = "导入完成" not in body and response.status_code != 302
        assert_all_or_nothing(before, after, failed)

    check()


@pytest.fixture
def uploaders():
    vendor = member_of(kind=OrgKind.COOPERATIVE, role=Role.ADMIN)
    ProductFactory(vendor=vendor.memberships[0].org, sku="LZ-001")
    agency = member_of(kind=OrgKind.AGENCY, role=Role.ADMIN)
    return {"vendor": vendor.email, "agency": agency.email}


def upload_pages():
    from catalog.imports import VendorProductsImport
    from orders.procurement.basket import BasketUpload
    from vendors.imports import StockImport

    return [
        ("/vendor/products/import", "vendor", VendorProductsImport),
        ("/vendor/stock/import", "vendor", StockImport),
        ("/procurement/basket/upload", "agency", BasketUpload),
    ]


@pytest.mark.parametrize("url,who,importer", upload_pages())
def test_vendor_and_agency_upload_pages_answer_hostile_csv_cleanly(
    app, uploaders, url, who, importer
):
    client = app.test_client()
    client.post("/login", data={"email": uploaders[who], "password": TEST_PASSWORD})

    @FUZZ
    @given(data=csv_files(importer), name=st.sampled_from(["in.csv", "in.xlsx", "in.txt"]))
    def check(data, name):
        before = row_counts()
        response = client.post(
            url,
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        after = row_counts()
        assert response.status_code < 500
        body = response.get_data(as_text=True)
        assert SCRIPT not in body
        failed = response.status_code >= 400 or (
            response.status_code == 200 and "导入完成" not in body
        )
        assert_all_or_nothing(before, after, failed)

    check()
