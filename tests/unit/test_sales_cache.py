"""/impact and the home page's counter are the same for everyone: served from the cache,
and dropped when the paid-sale core commits a sale or a refund (never before the commit,
never for a sale that rolled back)."""

from datetime import timedelta

import pytest

from marketplace.clock import local_today
from marketplace.unit_of_work import unit_of_work
from orders.ledger.services import SaleItem, record_paid_sale
from orders.reports import breakdowns

from ..vendor_factories import SellableProductFactory

AMOUNT = "12,345.67"


def sale(product):
    return record_paid_sale(
        "counter",
        [SaleItem(product, 1, 1_234_567)],
        sale_date=local_today() - timedelta(days=1),
        check_sellable=False,
    )


def pages(client) -> tuple[str, str]:
    impact, home = client.get("/impact"), client.get("/")
    assert (impact.status_code, home.status_code) == (200, 200)
    return impact.get_data(as_text=True), home.get_data(as_text=True)


def test_served_from_the_cache_until_a_sale_commits(cached_app, monkeypatch):
    product = SellableProductFactory(links=3)
    client = cached_app.test_client()
    impact, home = pages(client)
    assert AMOUNT not in impact and AMOUNT not in home

    def fail(*args, **kwargs):
        raise AssertionError("computed again")

    with monkeypatch.context() as patched:
        patched.setattr(breakdowns, "impact", fail)
        patched.setattr(breakdowns, "headline", fail)
        again = pages(client)  # the cached figures: nothing computed
        assert AMOUNT not in again[0] and AMOUNT not in again[1]

    with pytest.raises(RuntimeError), unit_of_work():
        sale(product)
        raise RuntimeError("rolled back")
    with monkeypatch.context() as patched:
        patched.setattr(breakdowns, "impact", fail)
        patched.setattr(breakdowns, "headline", fail)
        again = pages(client)  # a rollback drops nothing
        assert AMOUNT not in again[0] and AMOUNT not in again[1]

    sale(product)
    impact, home = pages(client)
    assert AMOUNT in impact and AMOUNT in home


def test_the_sold_count_is_cached_until_a_sale_or_refund_commits(cached_app, monkeypatch):
    from orders.shop import views as shop_views

    product = SellableProductFactory(links=3, stock=10)
    client = cached_app.test_client()

    def sold_text() -> str:
        page = client.get(f"/products/{product.id}").get_data(as_text=True)
        return page.split('data-testid="sold">', 1)[1].split("<", 1)[0] if "sold" in page else ""

    sale(product)
    assert sold_text() == "已售 1 件"

    def fail(*args, **kwargs):
        raise AssertionError("counted again")

    with monkeypatch.context() as patched:
        patched.setattr(shop_views, "_sold_units", fail)
        assert sold_text() == "已售 1 件"  # from the cache
    sale(product)
    assert sold_text() == "已售 2 件"  # the sale dropped it
