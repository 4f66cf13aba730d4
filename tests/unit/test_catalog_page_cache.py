"""The cached parts of the public catalogue beyond the list's first pages (issue 15): a
deep page sliced from the list's cached id order, a product page's parts and a seller's
page body. Each shows exactly what an uncached page shows, and never a product that
stopped being sellable: a suspension or a withdrawal through the services drops them at
once, an expiry by date changes the key, and stock is read on every request."""

from datetime import timedelta

import pytest

from catalog import certification, products, public, sellability
from catalog.public import CatalogFilters
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from vendors import stock
from vendors.stock import Ref

from ..catalog_factories import CertificationFactory
from ..factories import member_of


def text(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)


@pytest.fixture()
def twelve(cached_app):
    """Twelve sellable products of one seller, two to a page (pages 1-3 are read
    straight, pages 4-6 sliced from the cached order)."""
    cached_app.config["PAGE_SIZE"] = 2
    first = CertificationFactory(product__name="深页产品01", product__price=1200).product
    for n in range(2, 13):
        CertificationFactory(
            product__name=f"深页产品{n:02d}", product__price=100 * n, product__vendor=first.vendor
        )
    return first.vendor


def _names_on(client, url: str) -> list[str]:
    page = text(client, url)
    return [f"深页产品{n:02d}" for n in range(1, 13) if f"深页产品{n:02d}" in page]


@pytest.mark.parametrize("sort", ["new", "price_asc", "price_desc"])
def test_deep_pages_follow_the_same_order_as_the_first(cached_app, twelve, sort):
    day = sellability.today()
    everything = [
        p.name for p in db.session.scalars(public.public_products(day, CatalogFilters(sort=sort)))
    ]
    client = cached_app.test_client()
    shown = []
    for page in range(1, 7):
        on_page = _names_on(client, f"/products?sort={sort}&page={page}")
        shown.extend(sorted(on_page, key=everything.index))
    assert shown == everything
    last = text(client, f"/products?sort={sort}&page=6")
    assert f'href="/products?sort={sort}&amp;page=5"' in last  # its pager, as before
    assert text(client, f"/products?sort={sort}&page=7").count("深页产品") == 0


def test_a_deep_page_drops_a_suspended_product_at_once(cached_app, twelve):
    client = cached_app.test_client()
    ids = public.listed_ids(sellability.today(), CatalogFilters())
    deep = db.session.get(public.Product, ids[8])  # page 5 at two a page
    assert deep.name in text(client, "/products?page=5")
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    certification.suspend_certification(
        bureau, bureau.memberships[0].org, deep.certifications[0].id, "抽检不合格"
    )
    assert deep.name not in text(client, "/products?page=5")
    assert deep.id not in public.listed_ids(sellability.today(), CatalogFilters())


def test_a_listing_longer_than_the_bound_reads_its_far_pages_with_offset(
    cached_app, twelve, monkeypatch
):
    monkeypatch.setattr(public, "LISTED_MAX", 7)
    client = cached_app.test_client()
    far = _names_on(client, "/products?sort=price_asc&page=6")
    assert far == ["深页产品01", "深页产品12"]  # 1,200 fen each: the two dearest
    assert _names_on(client, "/products?sort=price_asc&page=4") == ["深页产品08", "深页产品09"]


def test_the_product_page_parts_are_cached_and_dropped_by_the_services(cached_app):
    product = CertificationFactory(product__name="妃子笑荔枝").product
    stock.receive([stock.Goods(product.id, 5)], Ref("test"))
    client = cached_app.test_client()
    url = f"/products/{product.id}"
    assert "妃子笑荔枝" in text(client, url)
    product.name = "悄悄改名"  # behind the services' back: no invalidation
    db.session.commit()
    assert "妃子笑荔枝" in text(client, url)  # the cached parts
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    certification.suspend_certification(
        bureau, bureau.memberships[0].org, product.certifications[0].id, "抽检不合格"
    )
    page = text(client, url)
    assert "暂停销售" in page and "该产品的扶贫产品认定已被暂停" in page
    assert 'data-testid="add-to-cart"' not in page


def test_the_product_page_expires_by_date_not_by_cache_timeout(cached_app, monkeypatch):
    today = local_today()
    product = CertificationFactory(
        product__name="今天到期的蜂蜜", certified_on=today - timedelta(days=30), valid_until=today
    ).product
    stock.receive([stock.Goods(product.id, 5)], Ref("test"))
    client = cached_app.test_client()
    assert 'data-testid="add-to-cart"' in text(client, f"/products/{product.id}")
    monkeypatch.setattr(sellability, "today", lambda: today + timedelta(days=1))
    page = text(client, f"/products/{product.id}")
    assert "该产品的扶贫产品认定已过期" in page and 'data-testid="add-to-cart"' not in page


def test_stock_on_a_cached_product_page_is_read_on_every_request(cached_app):
    product = CertificationFactory().product
    stock.receive([stock.Goods(product.id, 1)], Ref("test"))
    client = cached_app.test_client()
    url = f"/products/{product.id}"
    assert 'data-stock="low"' in text(client, url)
    stock.sell([stock.Goods(product.id, 1)], Ref("test"))  # no page cache is dropped
    page = text(client, url)
    assert 'data-stock="sold_out"' in page and 'data-testid="sold-out"' in page
    assert 'data-testid="add-to-cart"' not in page


def test_a_product_page_not_found_is_cached_until_the_catalogue_changes(cached_app):
    product = CertificationFactory(product__status="draft").product
    client = cached_app.test_client()
    assert client.get(f"/products/{product.id}").status_code == 404
    product.status = "active"  # behind the services' back
    db.session.commit()
    assert client.get(f"/products/{product.id}").status_code == 404
    vendor_user = member_of(OrgKind.COOPERATIVE, Role.ADMIN)
    products.save_product(
        vendor_user,
        vendor_user.memberships[0].org,
        products.ProductData(name="新品", category_id=product.category_id, unit="袋", price=900),
    )  # any change through the services drops the catalogue's cache
    assert client.get(f"/products/{product.id}").status_code == 200


def test_the_seller_page_body_is_cached_and_its_pager_carries_no_visitor_parameter(
    cached_app, twelve
):
    client = cached_app.test_client()
    url = f"/vendors/{twelve.id}"
    first = text(client, url + "?ref=wechat-123")
    pager = first[first.index('<ul class="pagination') :]
    pager = pager[: pager.index("</ul>")]
    assert "wechat-123" not in pager  # a cached body holds no visitor's parameters
    assert f'href="/vendors/{twelve.id}?page=2"' in pager
    assert "共 12 条" in first
    product = db.session.scalars(
        public.vendor_public_products(twelve.id, sellability.today())
    ).first()
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    certification.suspend_certification(
        bureau, bureau.memberships[0].org, product.certifications[0].id, "抽检不合格"
    )
    assert "共 11 条" in text(client, url)
