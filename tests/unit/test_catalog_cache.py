"""The public product list's cached body: served from the cache for the same query, language
and day, and dropped at once when a product, certification or seller changes."""

from datetime import timedelta

from catalog import certification, sellability
from catalog.models import CertStatus
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgKind

from ..catalog_factories import CertificationFactory
from ..factories import member_of


def listed(client, query: str = "") -> str:
    return client.get(f"/products{query}").get_data(as_text=True)


def test_repeat_requests_are_served_from_the_cache(cached_app):
    product = CertificationFactory(product__name="妃子笑荔枝").product
    client = cached_app.test_client()
    assert "妃子笑荔枝" in listed(client)
    product.name = "悄悄改名"  # behind the services' back: no invalidation
    db.session.commit()
    assert "妃子笑荔枝" in listed(client)  # the cached body
    assert "悄悄改名" in listed(client, "?sort=price_asc")  # another query is rendered anew


def test_a_change_through_the_services_shows_at_once(cached_app):
    cert = CertificationFactory(product__name="黑金刚莲雾")
    bureau_user = member_of(OrgKind.BUREAU)
    bureau = bureau_user.memberships[0].org
    client = cached_app.test_client()
    assert "黑金刚莲雾" in listed(client)
    certification.suspend_certification(bureau_user, bureau, cert.id, "抽检不合格")
    assert cert.status == CertStatus.SUSPENDED
    assert "黑金刚莲雾" not in listed(client)


def test_the_day_is_part_of_the_key(cached_app, monkeypatch):
    today = local_today()
    CertificationFactory(
        product__name="今天到期的蜂蜜",
        certified_on=today - timedelta(days=30),
        valid_until=today,
    )
    client = cached_app.test_client()
    assert "今天到期的蜂蜜" in listed(client)
    monkeypatch.setattr(sellability, "today", lambda: today + timedelta(days=1))
    assert "今天到期的蜂蜜" not in listed(client)  # expiry by date, not by cache timeout


def test_each_language_has_its_own_body(cached_app):
    CertificationFactory(product__name="文昌鸡")
    client = cached_app.test_client()
    assert "认定扶贫产品" in listed(client)
    client.post("/lang/en")
    page = listed(client)
    assert "文昌鸡" in page and "搜索产品、销售主体或村名" not in page


def test_parameters_the_list_does_not_read_share_one_cache_entry(cached_app):
    product = CertificationFactory(product__name="桂味荔枝").product
    client = cached_app.test_client()
    assert "桂味荔枝" in listed(client, "?from=wechat-123")
    product.name = "悄悄改名"  # behind the services' back: no invalidation
    db.session.commit()
    page = listed(client, "?from=share-456&utm_source=x")
    assert "桂味荔枝" in page  # the same entry: a share's tracking parameters
    assert "wechat-123" not in page  # nothing of the first visitor's link shows
    assert "悄悄改名" in listed(client, "?sort=price_asc")  # a parameter it reads: new entry
