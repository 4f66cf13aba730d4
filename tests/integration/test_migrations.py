"""`flask db upgrade` on an empty database yields exactly the schema of the models.

Each test migrates its own fresh database: a temporary SQLite file, or, when
TEST_DATABASE_URL is set, a throwaway PostgreSQL database on the same server, so the
shared test database (built by ``create_all``) is not disturbed.
"""

from __future__ import annotations

import contextlib
import logging.config
import uuid
from collections.abc import Iterator

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.extensions import db

from ..conftest import TEST_DATABASE_URL, make_test_config, on_postgres


@contextlib.contextmanager
def fresh_database(tmp_path) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    if not on_postgres():
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    name = f"mp_migrations_{uuid.uuid4().hex[:12]}"
    conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def app_migrated_to(tmp_path, monkeypatch, revision: str = "head"):
    """An app bound to a fresh database that ``flask db upgrade REVISION`` has built."""
    # migrations/env.py calls logging.config.fileConfig, which would disable every
    # logger the test session has already created
    monkeypatch.setattr(logging.config, "fileConfig", lambda *args, **kwargs: None)
    with fresh_database(tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        with app.app_context():
            flask_migrate.upgrade(revision=revision)
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def migrated_app(tmp_path, monkeypatch):
    with app_migrated_to(tmp_path, monkeypatch) as app:
        yield app


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_on_an_empty_database_matches_the_models(migrated_app):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert schema_differences() == []


def test_migrated_schema_enforces_the_models_constraints(migrated_app):
    """Check constraints are not compared by Alembic; make sure the migration has them."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with db.engine.connect() as conn:
        conn.execute(text("INSERT INTO districts (id, name) VALUES (1, '秀英区')"))
        conn.execute(text("INSERT INTO towns (id, district_id, name) VALUES (1, 1, '长流镇')"))
        conn.execute(
            text("INSERT INTO villages (id, town_id, name, is_poor) VALUES (1, 1, '美德村', true)")
        )
        insert = text(
            "INSERT INTO households (code, head_name, members, village_id, status, risk_light,"
            " created_at, updated_at) VALUES (:code, '符亚华', :members, 1, :status, 'green',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        conn.execute(insert, {"code": "HK1", "members": 3, "status": "poor"})
        for bad in ({"members": 0, "status": "poor"}, {"members": 3, "status": "rich"}):
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(insert, {"code": "HK2", **bad})
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert, {"code": "HK1", "members": 3, "status": "poor"})  # unique code
        conn.rollback()


@pytest.mark.skipif(on_postgres(), reason="the downgrade check runs on SQLite")
def test_downgrade_to_base_removes_everything_and_upgrade_again_works(migrated_app):
    flask_migrate.downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    flask_migrate.upgrade()
    assert schema_differences() == []


BEFORE_LOCAL_DATES = "e52dbbc89c91"  # the revision just before it


@pytest.fixture
def app_before_local_dates(tmp_path, monkeypatch):
    with app_migrated_to(tmp_path, monkeypatch, BEFORE_LOCAL_DATES) as app:
        yield app


@contextlib.contextmanager
def later_columns(*tables: str) -> Iterator[None]:
    """Today's models write rows into an old schema: the columns these tables gained in
    later revisions are there (nullable, no constraints) while the rows are written, and
    gone again before the later revisions add them for real."""
    from sqlalchemy import text

    present = {t: {c["name"] for c in inspect(db.engine).get_columns(t)} for t in tables}
    added = [
        (table, column)
        for table in tables
        for column in db.metadata.tables[table].columns
        if column.name not in present[table]
    ]
    with db.engine.begin() as conn:
        for table, column in added:
            kind = column.type.compile(dialect=db.engine.dialect)
            conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column.name}" {kind}'))
    try:
        yield
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            for table, column in added:
                conn.execute(text(f'ALTER TABLE {table} DROP COLUMN "{column.name}"'))


def test_live_online_sales_are_re_dated_in_the_local_zone(app_before_local_dates):
    """Rows written while the sale date was the UTC date: live online sales paid after
    local midnight move to the local date (with their attribution rows, refunds too);
    imported sales and sales recorded with an explicit date keep theirs."""
    from datetime import date, datetime
    from types import SimpleNamespace

    from sqlalchemy import insert, select, update

    from orders.fairs.models import Fair
    from orders.ledger.models import Attribution, Channel, Order
    from orders.ledger.services import SaleItem, record_paid_sale, refund

    from ..catalog_factories import BenefitLinkFactory, CertificationFactory

    newer_schema = contextlib.ExitStack()
    newer_schema.enter_context(later_columns("products", "orders", "refunds"))
    product = CertificationFactory(
        certified_on=date(2026, 1, 1), valid_until=date(2027, 12, 31)
    ).product
    BenefitLinkFactory(product=product)
    BenefitLinkFactory(product=product)
    # the fairs table as it was then (without the columns fairs gained later)
    fair_id = db.session.execute(
        insert(Fair.__table__)
        .values(code="F1", name="集市", date=date(2026, 11, 30), venue="广场", district="秀英区")
        .returning(Fair.__table__.c.id)
    ).scalar_one()
    db.session.commit()
    fair = SimpleNamespace(id=fair_id)
    november, december = date(2026, 11, 30), date(2026, 12, 1)
    after_midnight = datetime(2026, 11, 30, 19, 48)  # 03:48 on 1 December in Beijing
    evening = datetime(2026, 11, 30, 10, 0)  # 18:00 on 30 November in Beijing

    def sale(channel, paid_at, external_ref=None, **kwargs):
        order = record_paid_sale(
            channel, [SaleItem(product, 3, 1000)], sale_date=november, **kwargs
        )
        db.session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(paid_at=paid_at, external_ref=external_ref)
        )
        db.session.commit()
        return order.id

    late = sale(Channel.ONLINE, after_midnight)
    refund(
        db.session.get(Order, late), [(db.session.get(Order, late).lines[0].id, 1)], reason="坏果"
    )
    early = sale(Channel.ONLINE, evening)
    imported = sale(Channel.ONLINE, after_midnight, external_ref="SRC-0001")
    at_fair = sale(Channel.FAIR, after_midnight, fair=fair)
    newer_schema.close()
    db.session.remove()

    flask_migrate.upgrade()

    def dates(order_id):
        order_date = db.session.scalar(select(Order.sale_date).where(Order.id == order_id))
        rows = set(
            db.session.scalars(
                select(Attribution.sale_date).where(Attribution.order_id == order_id)
            )
        )
        return order_date, rows

    assert dates(late) == (december, {december})  # sale and refund rows alike
    assert dates(early) == (november, {november})
    assert dates(imported) == (november, {november})
    assert dates(at_fair) == (november, {november})


BEFORE_PLACE_REF = "049e856f903d"


def test_stock_locations_migration_copies_fair_and_retailer_into_place_ref(tmp_path, monkeypatch):
    """3d0795e7a3b1: a fair location keeps its fair (fair_id -> place_ref), a counter its
    store (retailer_id -> place_ref); the warehouse has none and stays one per vendor."""
    with app_migrated_to(tmp_path, monkeypatch, revision=BEFORE_PLACE_REF):
        from sqlalchemy import text
        from sqlalchemy.exc import IntegrityError

        with db.engine.begin() as conn:
            for org_id, kind in ((1, "cooperative"), (2, "retailer")):
                conn.execute(
                    text(
                        "INSERT INTO organizations (id, name, kind, status, created_at)"
                        " VALUES (:id, :name, :kind, 'verified', CURRENT_TIMESTAMP)"
                    ),
                    {"id": org_id, "name": f"org {org_id}", "kind": kind},
                )
            conn.execute(
                text(
                    "INSERT INTO fairs (id, code, name, date, venue, district, status, created_at)"
                    " VALUES (7, 'F07', '秀英集市', '2024-06-01', '万达广场', '秀英区', 'closed',"
                    " CURRENT_TIMESTAMP)"
                )
            )
            insert = text(
                "INSERT INTO stock_locations (id, vendor_id, kind, name, fair_id, retailer_id,"
                " active, created_at) VALUES (:id, 1, :kind, :name, :fair, :store, true,"
                " CURRENT_TIMESTAMP)"
            )
            conn.execute(
                insert, {"id": 1, "kind": "warehouse", "name": "仓库", "fair": None, "store": None}
            )
            conn.execute(
                insert, {"id": 2, "kind": "fair", "name": "秀英集市", "fair": 7, "store": None}
            )
            conn.execute(
                insert, {"id": 3, "kind": "counter", "name": "专柜", "fair": None, "store": 2}
            )

        flask_migrate.upgrade()
        assert schema_differences() == []
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, kind, place_ref FROM stock_locations ORDER BY id"))
            assert [tuple(r) for r in rows] == [
                (1, "warehouse", None),
                (2, "fair", 7),
                (3, "counter", 2),
            ]
            another = text(
                "INSERT INTO stock_locations (vendor_id, kind, name, place_ref, active, created_at)"
                " VALUES (1, :kind, :name, :ref, true, CURRENT_TIMESTAMP)"
            )
            for kind, ref in (("warehouse", None), ("fair", 7)):  # a second of either
                with pytest.raises(IntegrityError), conn.begin_nested():
                    conn.execute(another, {"kind": kind, "name": "另一个", "ref": ref})
            with pytest.raises(IntegrityError), conn.begin_nested():  # a warehouse names no place
                conn.execute(another, {"kind": "warehouse", "name": "仓库二", "ref": 5})
            conn.rollback()

        if not on_postgres():
            flask_migrate.downgrade(revision=BEFORE_PLACE_REF)
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT id, fair_id, retailer_id FROM stock_locations ORDER BY id")
                )
                assert [tuple(r) for r in rows] == [(1, None, None), (2, 7, None), (3, None, 2)]
