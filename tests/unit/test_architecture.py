"""Package boundaries that imports alone do not show (DESIGN.md, Layout)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# vendors/ owns the stock tables; migrations and tests may name any table
SKIPPED = {"vendors", "migrations", "tests", "instance", "node_modules", "static", "templates"}

STOCK_TABLES = re.compile(
    r"\b(StockLevel|StockLocation|StockMovement|stock_levels|stock_locations|stock_movements)\b"
    r"|\bimport\s+vendors\.models\b|\bfrom\s+vendors\.models\s+import\b"
    r"|\bfrom\s+vendors\s+import\s+(\([^)]*)?\bmodels\b"
)


def _sources_outside_vendors() -> list[Path]:
    """Every .py file of the project but those under SKIPPED top-level folders (hidden
    folders such as .venv are not followed)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        top = Path(folder) == ROOT
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d != "__pycache__" and not (top and d in SKIPPED)
        ]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return sorted(found)


def test_the_scan_covers_every_package_but_vendors():
    scanned = {path.relative_to(ROOT).parts[0] for path in _sources_outside_vendors()}
    assert {"marketplace", "catalog", "orders", "bench", "wsgi.py"} <= scanned
    assert not scanned & SKIPPED


def test_only_vendors_names_the_stock_tables():
    """Other packages move stock through vendors' stock API (products at a place), never
    through its tables, models or location ids."""
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources_outside_vendors()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if STOCK_TABLES.search(line)
    ]
    assert found == []


def test_the_stock_table_pattern_catches_each_form():
    for line in (
        "from vendors.models import LocationKind",
        "import vendors.models",
        "from vendors import models as stock_models",
        "from vendors import (stock, models)",
        "select(StockLevel.on_hand)",
        'text("SELECT * FROM stock_movements")',
    ):
        assert STOCK_TABLES.search(line), line
    for line in ("from vendors import stock", "vendors.stock.reserve(goods, ref)"):
        assert not STOCK_TABLES.search(line), line
