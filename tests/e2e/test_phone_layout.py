"""The public pages on a phone (issue 13, item 11), measured in a real browser at
390x844: the sales total on the home and impact pages stays on one line; the product
list's filters fold behind "筛选" so the first screen shows products; the notices table
becomes one card per certificate instead of a column a character wide."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.clock import local_today

from ..catalog_factories import CertificationFactory, ProductFactory
from ..order_factories import PaidSaleFactory
from ..vendor_factories import SellableProductFactory
from .conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def arrange() -> None:
    from orders.ledger.services import SaleItem

    # ¥12,345,678.90: the longest figure the home page's counter shows
    product = SellableProductFactory(price=123_456_789, stock=20, links=3, name="妃子笑荔枝")
    PaidSaleFactory(items=[SaleItem(product, 10)])
    for n in range(3):
        certified = ProductFactory(name=f"琼中绿橙{n}号礼盒装", vendor=product.vendor)
        CertificationFactory(product=certified, certified_on=local_today() - timedelta(days=n + 1))


def one_line(page, locator) -> None:
    """The element's text is on one line: its box is no taller than one line of it."""
    box = locator.bounding_box()
    line = locator.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert box["height"] <= line * 1.2, (box, line)
    assert locator.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # nothing cut off


def test_the_public_pages_fit_a_phone(page, live_server):
    live_server.run(arrange)
    page.set_viewport_size(PHONE)

    for path, name in (("/", "home"), ("/impact", "impact")):
        page.goto(path)
        total = page.get_by_test_id("sales-total").first
        assert total.inner_text().replace(",", "").startswith("12345678.90")
        one_line(page, total)
        page.screenshot(path=str(SCREENSHOTS / f"phone_{name}.png"))

    # the product list: the filters are folded, the products are on the first screen
    page.goto("/products")
    panel = page.get_by_test_id("filter-panel")
    assert panel.evaluate("e => e.open") is False
    assert not page.locator("select[name=category]").is_visible()
    first_card = page.get_by_test_id("product-grid").locator(".col").first
    assert first_card.bounding_box()["y"] < PHONE["height"] / 2
    page.screenshot(path=str(SCREENSHOTS / "phone_products.png"))
    panel.locator("summary").click()
    assert page.locator("select[name=category]").is_visible()
    page.locator("select[name=sort]").select_option("price_desc")
    page.get_by_role("button", name="搜索").click()
    assert page.get_by_test_id("filter-panel").evaluate("e => e.open")  # a filter in use

    # the notices: one card per certificate, each value on a readable line
    page.goto("/notices")
    rows = page.get_by_test_id("notices").locator("tbody tr")
    assert rows.count() == 4  # the three, and the product sold (certified today)
    assert not page.get_by_test_id("notices").locator("thead").is_visible()
    cells = rows.first.locator("td")
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box["width"] > 300, box  # the whole card's width, not one character's
        assert box["height"] < 40, box  # a label and its value on one line
    labels = cells.evaluate_all("cs => cs.map(c => getComputedStyle(c, '::before').content)")
    assert labels[2] == '"证书编号"'  # each value says what it is
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_on_a_wide_screen_the_filters_are_open(page, live_server):
    live_server.run(arrange)
    page.goto("/products")
    assert page.get_by_test_id("filter-panel").evaluate("e => e.open")
    assert page.locator("select[name=category]").is_visible()
