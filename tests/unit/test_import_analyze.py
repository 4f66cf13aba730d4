"""Every import leaves the database ready: the import machinery collects the tables the
write touched (INSERT, UPDATE, DELETE, and bulk_insert's COPY) and, on PostgreSQL,
ANALYZEs them once the import has committed."""

from sqlalchemy import text

from catalog.imports import ProductsImport
from catalog.products import seed_categories
from marketplace import importing
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.orgs.imports import VendorsImport
from tests.conftest import on_postgres, requires_postgres
from tests.factories import OrgFactory

HEADER = "sku,vendor_code,name,category,unit,price,certificate_no,certified_on,valid_until,stock"
ROW = "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,FP-1,2020-01-01,2099-12-31,40"


def test_the_tables_an_import_wrote_are_analyzed_after_commit(app, monkeypatch):
    seed_categories()
    OrgFactory(code="V001")
    analyzed = []
    monkeypatch.setattr(importing, "analyze", lambda tables: analyzed.append(set(tables)))
    run_import(ProductsImport(), f"{HEADER}\n{ROW}\n".encode())
    assert (
        analyzed
        and {
            "products",
            "certifications",
            "stock_levels",
            "stock_movements",
            "audit_log",
        }
        <= analyzed[0]
    )


def test_a_dry_run_or_a_failed_import_analyzes_nothing(app, monkeypatch):
    analyzed = []
    monkeypatch.setattr(importing, "analyze", lambda tables: analyzed.append(set(tables)))
    data = b"vendor_code,name,kind,district,town\nV1,X,cooperative,A,B\n"
    run_import(VendorsImport(), data, dry_run=True)
    assert analyzed == []


@requires_postgres
def test_on_postgresql_the_statistics_are_fresh_right_after_an_import(app):
    assert on_postgres()
    started = db.session.scalar(text("SELECT clock_timestamp()"))
    db.session.commit()
    seed_categories()
    OrgFactory(code="V001")
    run_import(ProductsImport(), f"{HEADER}\n{ROW}\n".encode())
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    for table in ("products", "certifications", "stock_levels", "stock_movements"):
        last = db.session.scalar(
            text("SELECT pg_stat_get_last_analyze_time(CAST(:t AS regclass))"), {"t": table}
        )
        assert last is not None and last >= started, table
