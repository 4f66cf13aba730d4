"""Fixtures shared by the vendor-side tests (catalog and stock): a staff member of a
verified cooperative (``vendor``), its organization (``org``), one of its products without
stock yet (``product``), and another vendor's product with 7 units in stock
(``other_product``); and ``cached_app``, an app with a real (SimpleCache) cache where the
suite's apps have none. A test module may define its own fixture of the same name instead."""

from __future__ import annotations

import pytest

from marketplace import create_app
from marketplace.extensions import cache, db
from marketplace.models import OrgKind, Role

from ..catalog_factories import ProductFactory
from ..conftest import fresh_request_state, make_test_config
from ..factories import member_of
from ..vendor_factories import StockedProductFactory


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
    return StockedProductFactory(name="别家的蜂蜜", sku="FM-999", stock=7)


@pytest.fixture
def cached_app(database_url, tmp_path):
    """An app whose fragments and figures are really cached (the suite's use NullCache)."""
    config = make_test_config(database_url, tmp_path)
    config.update({"CACHE_TYPE": "SimpleCache"})
    app = create_app(config)
    fresh_request_state(app)
    with app.app_context():
        cache.clear()
        yield app
        cache.clear()
        db.session.remove()
        db.engine.dispose()  # its own engine: close its connections, don't leave them to GC
