"""The kernel's registries (marketplace/registries.py): the factory fills each one, the
module's docstring names each one, and catalog reaches stock only through its port."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from catalog.models import Product
from catalog.products import seed_categories
from marketplace import registries
from marketplace.extensions import db
from orders.shop.notify import OrderNotifier
from vendors.models import StockMovement
from vendors.services import WarehouseStock

from ..factories import OrgFactory


def test_the_factory_fills_every_registry(app):
    assert list(registries.importers.get()) == [
        "households",
        "vendors",
        "products",
        "benefit-links",
        "fairs",
        "sales",
        "assessments",
    ]
    steps = [step.__name__ for step in registries.demo_steps.get()]
    assert steps[-7:] == [
        "load_catalog_demo",
        "load_stock_demo",
        "load_orders_demo",
        "load_shop_demo",
        "load_procurement_demo",
        "load_fairs_demo",
        "load_rewards_demo",
    ]
    assert [(s.render.__name__, s.areas) for s in registries.home_sections.get()] == [
        ("impact_section", ("sales",)),
        ("featured_section", ("catalog",)),
    ]
    assert isinstance(registries.order_notifier.get(), OrderNotifier)
    assert isinstance(registries.stock.get(), WarehouseStock)
    assert [type(h).__name__ for h in registries.personal_data.get()] == [
        "ShopPersonalData",
        "RestockPersonalData",
    ]
    assert registries.stock_returned.get().__module__ == "catalog.restock"
    assert all(r.name in app.extensions for r in registries.ALL)


def test_an_unfilled_registry_reads_its_default():
    bare = Flask(__name__)
    assert registries.importers.get(bare) == {}
    assert registries.demo_steps.get(bare) == [] and registries.home_sections.get(bare) == []
    assert registries.order_notifier.get(bare) is None and registries.stock.get(bare) is None


def test_the_module_docstring_lists_every_registry():
    listed = re.findall(r"^- ``(\w+)``", registries.__doc__, re.M)
    assert listed == [r.name for r in registries.ALL]


class RecordingStock:
    """A StockPort that records what the products import asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def reserved(self, product_ids):
        self.calls.append(("reserved", sorted(product_ids)))
        return {}

    def set_on_hand_many(self, targets, actor, import_name):
        self.calls.append(("set_on_hand_many", targets, import_name))


def test_the_products_import_sets_stock_through_the_stock_registry(app, runner, tmp_path):
    seed_categories()
    OrgFactory(code="V001")
    header = "sku,vendor_code,name,category,unit,price,certificate_no,certified_on,valid_until"
    path = tmp_path / "products.csv"
    path.write_text(f"{header},stock\nLZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,40\n", encoding="utf-8")
    port = RecordingStock()
    real = registries.stock.get()
    registries.stock.fill(app, port)
    try:
        result = runner.invoke(args=["import", "products", str(path)])
        assert result.exit_code == 0, result.output
        path.write_text(
            f"{header},stock\nLZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,25\n", encoding="utf-8"
        )
        assert runner.invoke(args=["import", "products", str(path)]).exit_code == 0
    finally:
        registries.stock.fill(app, real)
    product_id = db.session.scalar(select(Product.id).where(Product.sku == "LZ-1"))
    assert port.calls == [
        ("set_on_hand_many", {product_id: 40}, "products"),
        ("reserved", [product_id]),
        ("set_on_hand_many", {product_id: 25}, "products"),
    ]
    assert db.session.scalar(select(func.count(StockMovement.id))) == 0  # vendors untouched
