"""The public catalog: only sellable products appear (list, product, vendor pages and the
rule itself), validity is inclusive of both dates, search works for Chinese, pages past
the end are empty, and no public page ever shows a household's name or code."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from catalog import public, sellability
from catalog.models import CertStatus, ProductStatus
from catalog.public import CatalogFilters
from catalog.sellability import NotCertified, ensure_sellable, is_sellable
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgStatus

from ..catalog_factories import (
    BenefitLinkFactory,
    CategoryFactory,
    CertificationFactory,
    ProductFactory,
)
from ..factories import HouseholdFactory, OrgFactory, TownFactory, VillageFactory

TODAY = local_today()
YESTERDAY = TODAY - timedelta(days=1)


def sellable_product(**fields):
    """A product with an approved certification covering today."""
    return CertificationFactory(product=ProductFactory(**fields)).product


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- the gate


def uncertified():
    return ProductFactory(name="未认定的蜂蜜")


def pending_application():
    return CertificationFactory(
        product=ProductFactory(name="待审核的蜂蜜"), status=CertStatus.PENDING
    ).product


def expired_yesterday():
    return CertificationFactory(
        product=ProductFactory(name="过期的蜂蜜"),
        certified_on=TODAY - timedelta(days=365),
        valid_until=YESTERDAY,
    ).product


def suspended():
    return CertificationFactory(
        product=ProductFactory(name="暂停的蜂蜜"), status=CertStatus.SUSPENDED
    ).product


def revoked():
    return CertificationFactory(
        product=ProductFactory(name="撤销的蜂蜜"), status=CertStatus.REVOKED
    ).product


def archived():
    return sellable_product(name="下架的蜂蜜", status=ProductStatus.ARCHIVED)


def draft():
    return sellable_product(name="草稿的蜂蜜", status=ProductStatus.DRAFT)


def unverified_vendor():
    return sellable_product(name="未审核商家的蜂蜜", vendor=OrgFactory(status=OrgStatus.PENDING))


def not_yet_in_force():
    return CertificationFactory(
        product=ProductFactory(name="尚未生效的蜂蜜"),
        certified_on=TODAY + timedelta(days=1),
        valid_until=TODAY + timedelta(days=366),
    ).product


UNSELLABLE = [
    uncertified,
    pending_application,
    expired_yesterday,
    suspended,
    revoked,
    archived,
    draft,
    unverified_vendor,
    not_yet_in_force,
]


# sold here once: a shared link still lands on the page, which says 暂停销售 and why
ONCE_PUBLIC = (expired_yesterday, suspended, archived)


def assert_not_for_sale(client, product, *, shown: bool) -> None:
    """The product page sells nothing: a 暂停销售 page with the reason (a product sold
    here once), or 404 (never public: draft, uncertified, unverified vendor...)."""
    response = client.get(f"/products/{product.id}")
    if not shown:
        assert response.status_code == 404
        return
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="suspended"' in page
    assert 'data-testid="add-to-cart"' not in page and "noindex" in page
    assert sellability.unsellable_reason(product, sellability.today()) in page


@pytest.mark.parametrize("make", UNSELLABLE, ids=lambda f: f.__name__)
def test_unsellable_product_is_refused_by_the_rule(make):
    product = make()
    assert is_sellable(product, TODAY) is False
    assert is_sellable(product.id, TODAY) is False
    with pytest.raises(NotCertified) as raised:
        ensure_sellable(product, TODAY)
    assert product.name in raised.value.message
    assert sellability.unsellable_reason(product, TODAY)


@pytest.mark.parametrize("make", UNSELLABLE, ids=lambda f: f.__name__)
def test_unsellable_product_is_hidden_from_every_public_page(client, make):
    visible = sellable_product(name="在售的荔枝蜜")
    product = make()
    listing = html(client, "/products")
    assert visible.name in listing  # the list itself works
    assert product.name not in listing
    assert product.name not in html(client, "/products?q=蜂蜜")
    assert product.name not in html(client, "/")
    assert_not_for_sale(client, product, shown=make in ONCE_PUBLIC)
    # the service behind the page says the same
    ids = {p.id for p in db.session.scalars(public.public_products(TODAY, CatalogFilters()))}
    assert ids == {visible.id}


def test_sellable_product_passes_the_rule_and_has_a_page(client):
    product = sellable_product(name="妃子笑荔枝", price=1250, unit="斤")
    assert is_sellable(product, TODAY)
    ensure_sellable(product, TODAY)  # no exception
    page = html(client, f"/products/{product.id}")
    assert "妃子笑荔枝" in page and "¥12.50" in page and "/ 斤" in page
    cert = product.certifications[0]
    assert cert.certificate_no in page and cert.valid_until.isoformat() in page


def test_unverified_vendor_has_no_public_page_and_verified_vendor_lists_only_sellable(client):
    pending_vendor = OrgFactory(status=OrgStatus.PENDING)
    assert client.get(f"/vendors/{pending_vendor.id}").status_code == 404
    assert client.get("/vendors/999999").status_code == 404
    vendor = OrgFactory(name="石岭荔枝专业合作社")
    on_sale = sellable_product(name="在售荔枝", vendor=vendor)
    CertificationFactory(product=ProductFactory(name="停售荔枝", vendor=vendor), status="suspended")
    ProductFactory(name="未认定荔枝", vendor=vendor)
    page = html(client, f"/vendors/{vendor.id}")
    assert vendor.name in page and on_sale.name in page
    assert "停售荔枝" not in page and "未认定荔枝" not in page
    # the product page links to the vendor page
    assert f"/vendors/{vendor.id}" in html(client, f"/products/{on_sale.id}")


def test_unknown_product_is_a_friendly_404(client):
    response = client.get("/products/424242")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


# ---------------------------------------------------------------- validity dates


def test_validity_is_inclusive_of_both_dates():
    start, end = date(2025, 3, 1), date(2026, 2, 28)
    product = CertificationFactory(certified_on=start, valid_until=end).product
    assert is_sellable(product, start)
    assert is_sellable(product, end)
    assert not is_sellable(product, start - timedelta(days=1))
    assert not is_sellable(product, end + timedelta(days=1))
    with pytest.raises(NotCertified):
        ensure_sellable(product, end + timedelta(days=1))
    with pytest.raises(NotCertified):
        ensure_sellable(product, start - timedelta(days=1))


def test_certificate_expiring_today_is_on_sale_today_and_gone_tomorrow(client, monkeypatch):
    product = CertificationFactory(
        product=ProductFactory(name="今天到期的莲雾"),
        certified_on=TODAY - timedelta(days=100),
        valid_until=TODAY,
    ).product
    assert "今天到期的莲雾" in html(client, "/products")
    assert client.get(f"/products/{product.id}").status_code == 200
    monkeypatch.setattr(sellability, "today", lambda: TODAY + timedelta(days=1))
    assert "今天到期的莲雾" not in html(client, "/products")
    assert_not_for_sale(client, product, shown=True)
    assert "该产品的扶贫产品认定已过期" in html(client, f"/products/{product.id}")


def test_certified_today_is_on_sale_today_and_was_not_yesterday(client, monkeypatch):
    product = CertificationFactory(
        product=ProductFactory(name="今天认定的莲雾"),
        certified_on=TODAY,
        valid_until=TODAY + timedelta(days=365),
    ).product
    assert client.get(f"/products/{product.id}").status_code == 200
    monkeypatch.setattr(sellability, "today", lambda: YESTERDAY)
    assert "今天认定的莲雾" not in html(client, "/products")
    assert client.get(f"/products/{product.id}").status_code == 404


# ---------------------------------------------------------------- privacy


@pytest.fixture
def linked_product():
    """A sellable product linked to households with distinctive names and codes, three of
    them in one village (so that village is named), and a fresh notice."""
    village = VillageFactory(name="隐秘岭村")
    households = [
        HouseholdFactory(code=f"HHSECRET{n:03d}", head_name=name, village=village)
        for n, name in enumerate(["符秘甲", "符秘乙", "符秘丙"])
    ]
    households.append(HouseholdFactory(code="HHSECRET999", head_name="符秘丁"))
    vendor = OrgFactory(name="隐私测试合作社")
    cert = CertificationFactory(
        product=ProductFactory(name="隐私测试荔枝", vendor=vendor, featured=True),
        certified_on=TODAY - timedelta(days=3),
    )
    for household in households:
        BenefitLinkFactory(product=cert.product, household=household, weight=Decimal("1.5"))
    return cert.product, households


def test_public_pages_never_show_a_household_name_or_code(client, linked_product):
    product, households = linked_product
    pages = {
        "list": html(client, "/products"),
        "search": html(client, "/products?q=荔枝"),
        "product": html(client, f"/products/{product.id}"),
        "vendor": html(client, f"/vendors/{product.vendor_id}"),
        "notices": html(client, "/notices"),
        "home": html(client, "/"),
    }
    for name, page in pages.items():
        assert product.name in page, name  # the product is there ...
        for household in households:  # ... and no person is
            assert household.head_name not in page, name
            assert household.code not in page, name
            assert "HHSECRET" not in page, name
    # the product page shows counts (and the village where 3 of them live)
    assert "此产品帮扶 4 户建档立卡户，分布在 2 个村" in pages["product"]
    assert "隐秘岭村" in pages["product"]


def test_searching_for_a_household_name_finds_nothing(client, linked_product):
    page = html(client, "/products?q=符秘甲")
    assert "隐私测试荔枝" not in page
    assert 'data-testid="empty-state"' in page


def test_impact_names_villages_only_where_three_or_more_households_live(client):
    product = CertificationFactory(product=ProductFactory(name="影响测试鸡")).product
    town = TownFactory(name="大坡镇")
    many, two, one = (
        VillageFactory(name="三户村", town=town),
        VillageFactory(name="两户村", town=town),
        VillageFactory(name="独户村", town=town),
    )
    for village, count in ((many, 3), (two, 2), (one, 1)):
        for _ in range(count):
            BenefitLinkFactory(product=product, household=HouseholdFactory(village=village))
    impact = public.product_impact(product.id, TODAY)
    assert (impact.households, impact.villages) == (6, 3)
    assert impact.named_villages == (many.full_name,)
    page = html(client, f"/products/{product.id}")
    assert "此产品帮扶 6 户建档立卡户，分布在 3 个村" in page
    assert many.full_name in page
    assert "两户村" not in page and "独户村" not in page


def test_impact_counts_only_the_links_in_force(client):
    product = CertificationFactory(product=ProductFactory()).product
    old = [HouseholdFactory() for _ in range(5)]
    for household in old:
        BenefitLinkFactory(product=product, household=household, valid_from=date(2020, 1, 1))
    for _ in range(3):
        BenefitLinkFactory(product=product, valid_from=TODAY - timedelta(days=1))
    BenefitLinkFactory(product=product, valid_from=TODAY + timedelta(days=30))  # not yet
    assert "此产品帮扶 3 户建档立卡户，分布在 3 个村" in html(client, f"/products/{product.id}")


# ---------------------------------------------------------------- search and filters


@pytest.fixture
def lychee_and_others():
    shiling = VillageFactory(name="石岭村")
    lychee = sellable_product(
        name="妃子笑荔枝", origin_village=shiling, vendor=OrgFactory(name="甲合作社")
    )
    rose_apple = sellable_product(name="黑金刚莲雾", vendor=OrgFactory(name="乙合作社"))
    honey = sellable_product(
        name="龙眼蜂蜜", description="来自山区的蜂蜜", vendor=OrgFactory(name="丙合作社")
    )
    return lychee, rose_apple, honey


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("荔枝", {"妃子笑荔枝"}),  # two characters of the name
        ("石岭", {"妃子笑荔枝"}),  # two characters of the village
        ("莲雾", {"黑金刚莲雾"}),
        ("山区", {"龙眼蜂蜜"}),  # the description
        ("乙合作", {"黑金刚莲雾"}),  # the vendor
        ("榴莲", set()),
        ("100%", set()),  # LIKE wildcards are literal
    ],
)
def test_search_finds_chinese_substrings(client, lychee_and_others, query, expected):
    names = {"妃子笑荔枝", "黑金刚莲雾", "龙眼蜂蜜"}
    page = html(client, f"/products?q={query}")
    found = {name for name in names if name in page}
    assert found == expected
    if not expected:
        assert "没有找到符合条件的产品" in page


def test_filters_by_category_village_and_district(client):
    lychee = CategoryFactory(name="荔枝")
    honey = CategoryFactory(name="蜂蜜")
    east = TownFactory(district__name="东区")
    west = TownFactory(district__name="西区")
    a = sellable_product(
        name="东区荔枝A", category=lychee, origin_village=VillageFactory(town=east)
    )
    b = sellable_product(name="东区蜂蜜B", category=honey, origin_village=VillageFactory(town=east))
    c = sellable_product(
        name="西区荔枝C", category=lychee, origin_village=VillageFactory(town=west)
    )

    def names(url):
        page = html(client, url)
        return {p.name for p in (a, b, c) if p.name in page}

    assert names(f"/products?category={lychee.id}") == {a.name, c.name}
    assert names(f"/products?village={b.origin_village_id}") == {b.name}
    assert names(f"/products?district={east.district_id}") == {a.name, b.name}
    assert names(f"/products?district={west.district_id}&category={lychee.id}") == {c.name}
    # nonsense filters are ignored rather than errors
    assert names("/products?category=abc&village=-1&sort=drop") == {a.name, b.name, c.name}


def test_price_sort(client):
    for name, price in (("中价", 2000), ("低价", 500), ("高价", 9900)):
        sellable_product(name=f"排序{name}", price=price)

    def order(sort):
        page = html(client, f"/products?sort={sort}")
        return sorted(["排序中价", "排序低价", "排序高价"], key=page.index)

    assert order("price_asc") == ["排序低价", "排序中价", "排序高价"]
    assert order("price_desc") == ["排序高价", "排序中价", "排序低价"]


def test_pagination_past_the_end_is_an_empty_page_not_an_error(client, app):
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 1):
        sellable_product(name=f"分页产品{n:02d}")
    first = html(client, "/products")
    second = html(client, "/products?page=2")
    assert first.count('data-testid="product-card"') == per_page
    assert second.count('data-testid="product-card"') == 1
    for url in ("/products?page=3", "/products?page=99999999", "/products?q=荔枝&page=7"):
        page = html(client, url)
        assert 'data-testid="product-card"' not in page
        assert 'data-testid="empty-state"' in page
    assert "这一页没有更多产品了" in html(client, "/products?page=3")


def test_nothing_on_sale_shows_a_friendly_empty_state(client):
    assert "没有找到符合条件的产品" in html(client, "/products")
    assert "暂时还没有上架的认定产品" in html(client, "/")
    assert "近 30 天没有新认定的产品" in html(client, "/notices")


# ---------------------------------------------------------------- home and notices


def test_home_shows_featured_first_then_newest_up_to_eight(client):
    plain = [sellable_product(name=f"普通产品{n}") for n in range(9)]
    featured = sellable_product(name="推荐的荔枝", featured=True)
    category = CategoryFactory(name="南药")
    products = public.featured_products(TODAY)
    assert len(products) == 8
    assert products[0].id == featured.id
    page = html(client, "/")
    assert "推荐的荔枝" in page
    assert f"/products?category={category.id}" in page
    assert sum(p.name in page for p in plain) == 7  # the oldest two don't fit


def test_notices_list_certifications_of_the_last_30_days(client):
    fresh = CertificationFactory(
        product=ProductFactory(name="新认定的花卉"), certified_on=TODAY - timedelta(days=30)
    )
    CertificationFactory(
        product=ProductFactory(name="早认定的花卉"), certified_on=TODAY - timedelta(days=31)
    )
    CertificationFactory(product=ProductFactory(name="待审的花卉"), status=CertStatus.PENDING)
    page = html(client, "/notices")
    assert "新认定的花卉" in page and fresh.certificate_no in page
    assert "早认定的花卉" not in page and "待审的花卉" not in page
    assert f"/products/{fresh.product_id}" in page


def test_navbar_links_to_products_and_notices(client):
    page = html(client, "/")
    assert 'href="/products"' in page and 'href="/notices"' in page
