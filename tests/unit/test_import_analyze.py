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
from orders.ledger.imports import SalesImport
from tests.catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from tests.conftest import on_postgres, requires_postgres
from tests.factories import HouseholdFactory, OrgFactory
from vendors import stock
from vendors.stock import Goods, Ref

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


SALES = (
    "sale_ref,channel,date,sku,quantity,unit_price,buyer,payment_method\n"
    "S-1,online,2024-05-20,LZ-1,3,68,,wechat\n"
    "S-1,online,2024-05-20,LZ-1,2,60,,wechat\n"
    "S-2,procurement,2024-05-21,LZ-1,1,68,海口市某局,bank_transfer\n"
)
# every table the sales import writes (with --affect-stock): orders and lines, the paid
# core's attribution, rollup and audit rows, and the stock it takes
SALES_TABLES = {
    "orders",
    "order_lines",
    "attributions",
    "sales_rollup",
    "audit_log",
    "stock_levels",
    "stock_movements",
}


def linked_product_in_stock():
    from datetime import date

    lychee = ProductFactory(sku="LZ-1")
    CertificationFactory(
        product=lychee, certified_on=date(2024, 1, 1), valid_until=date(2024, 12, 31)
    )
    BenefitLinkFactory(product=lychee, household=HouseholdFactory())
    stock.receive([Goods(lychee.id, 10)], Ref(note="harvest"))
    db.session.commit()


def test_the_sales_import_analyzes_every_table_it_writes(app, monkeypatch):
    linked_product_in_stock()
    analyzed = []
    monkeypatch.setattr(importing, "analyze", lambda tables: analyzed.append(set(tables)))
    run_import(SalesImport(affect_stock=True), SALES.encode())
    assert analyzed and analyzed[0] >= SALES_TABLES, analyzed


@requires_postgres
def test_on_postgresql_the_sales_tables_are_analyzed_right_after_the_import(app):
    started = db.session.scalar(text("SELECT clock_timestamp()"))
    db.session.commit()
    linked_product_in_stock()
    run_import(SalesImport(affect_stock=True), SALES.encode())
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    for table in sorted(SALES_TABLES):
        last = db.session.scalar(
            text("SELECT pg_stat_get_last_analyze_time(CAST(:t AS regclass))"), {"t": table}
        )
        assert last is not None and last >= started, table
