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


def _sources(skipped: set[str] = SKIPPED - {"vendors"}) -> list[Path]:
    """Every .py file of the project but those under ``skipped`` top-level folders (hidden
    folders such as .venv are not followed)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        top = Path(folder) == ROOT
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d != "__pycache__" and not (top and d in skipped)
        ]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return sorted(found)


def _sources_outside_vendors() -> list[Path]:
    return _sources(SKIPPED)


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


# ---------------------------------------------------------------- one copy of each helper

# Files allowed to carry a copy (none: the issue-10 split converted the last ones).
# Nothing may be added to it.
ALLOWED_COPIES: dict[str, set[str]] = {}

# name -> (what a copy looks like, the one file allowed to hold it)
KERNEL_HELPERS = {
    "def _require": (re.compile(r"^\s*def _?require\("), "marketplace/authz.py"),
    "raise Forbidden": (re.compile(r"\braise Forbidden\b"), "marketplace/authz.py"),
    "def _form_errors": (re.compile(r"^\s*def _?(flash_)?form_errors\("), "marketplace/web.py"),
    "def _chunks": (re.compile(r"^\s*def _?chunks\("), "marketplace/bulk.py"),
    "BigId =": (
        re.compile(r"^\s*BigId\s*[:=]|BigInteger\(\)\.with_variant\("),
        "marketplace/models.py",
    ),
    "def _yuan_text": (re.compile(r"^\s*def _?(yuan_text|format_fen)\("), "marketplace/money.py"),
    "IN list by hand": (re.compile(r"\brange\(0, len\("), "marketplace/bulk.py"),
    # a shipment changes state through its own guarded steps, on the model
    "shipment steps": (
        re.compile(r"\bstatus=ShipmentStatus\."),
        ("orders/shop/models.py",),
    ),
}

VIEW_MODULE = re.compile(r"(^|/)(\w+_)?views\.py$|^orders/shop/webhooks\.py$")
ACCESS_CATCH = re.compile(r"^\s*except\b.*\b(NotFound|Forbidden|AccessError)\b")


def _lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), 1))


def test_views_leave_not_found_and_forbidden_to_the_app():
    """A view never catches an access error: the app answers every ``NotFound`` with a
    404 and every ``Forbidden`` with a 403, whichever service raised it."""
    views = [p for p in _sources() if VIEW_MODULE.search(p.relative_to(ROOT).as_posix())]
    assert len(views) >= 10  # the scan sees them all (marketplace, catalog, vendors, orders)
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in views
        for number, line in _lines(path)
        if ACCESS_CATCH.search(line)
    ]
    assert found == []


def test_each_kernel_helper_has_one_copy():
    """Small helpers live once, in the kernel; a package imports them."""
    found = []
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        for number, line in _lines(path):
            for helper, (pattern, home) in KERNEL_HELPERS.items():
                if name in ((home,) if isinstance(home, str) else home):
                    continue
                if helper in ALLOWED_COPIES.get(name, ()):
                    continue
                if pattern.search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


def test_the_allowed_copies_are_still_copies():
    """An entry of ``ALLOWED_COPIES`` goes once its file has lost the copy."""
    stale = []
    for name, helpers in ALLOWED_COPIES.items():
        text = (ROOT / name).read_text(encoding="utf-8").splitlines()
        for helper in helpers:
            pattern = KERNEL_HELPERS[helper][0]
            if not any(pattern.search(line) for line in text):
                stale.append(f"{name}: {helper}")
    assert stale == []


def test_the_helper_patterns_catch_each_form():
    for helper, line in (
        ("def _require", "def _require(actor, org, action):"),
        ("def _require", "def require(actor, action, org) -> None:"),
        ("raise Forbidden", '        raise Forbidden(_("您没有权限执行此操作。"))'),
        ("def _form_errors", "def _form_errors(form, exc):"),
        ("def _form_errors", "def _flash_form_errors(form):"),
        ("def _chunks", "def chunks(items: list, size: int = CHUNK) -> Iterable[list]:"),
        ("BigId =", "BigId = BigInteger().with_variant(Integer, 'sqlite')"),
        ("BigId =", "id = mapped_column(BigInteger().with_variant(Integer, 'sqlite'))"),
        ("def _yuan_text", "def _yuan_text(fen: int) -> str:"),
        ("IN list by hand", "for start in range(0, len(keys), CHUNK):"),
        ("shipment steps", "    .values(status=ShipmentStatus.PENDING, cancel_reason=None)"),
    ):
        assert KERNEL_HELPERS[helper][0].search(line), line
    assert not KERNEL_HELPERS["def _require"][0].search("    authz.require(actor, 'x', org)")
    assert ACCESS_CATCH.search("    except NotFound:")
    assert ACCESS_CATCH.search("        except (Forbidden, ValidationError) as exc:")
    assert not ACCESS_CATCH.search("    except ValidationError as exc:")


CLASS = re.compile(r"^class (\w+)\b")


def test_no_two_classes_share_a_name():
    """A class is named for what it is, so a name means one thing (an import's summary is
    an ``ImportSummary``, the report's figures ``SummaryFigures``)."""
    defined: dict[str, list[str]] = {}
    for path in _sources():
        for number, line in _lines(path):
            match = CLASS.match(line)
            if match:
                defined.setdefault(match.group(1), []).append(f"{path.relative_to(ROOT)}:{number}")
    assert {name: places for name, places in defined.items() if len(places) > 1} == {}
