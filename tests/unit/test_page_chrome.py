"""The chrome every page shares (marketplace/chrome.py) and the home page's cached body.

A visitor's navigation bar and the footer are rendered once per language and filled in
per request; they must say exactly what a fresh rendering says, with this request's cart
and page. The home page's body is cached whole and dropped when any of its
sections' areas changes: a sale (tests/unit/test_sales_cache.py) or a product."""

import pytest
from flask import render_template, request

from catalog import certification
from marketplace import chrome
from marketplace.extensions import db
from marketplace.models import OrgKind

from ..catalog_factories import CertificationFactory
from ..factories import UserFactory, member_of
from ..vendor_factories import SellableProductFactory
from .test_i18n import compiled_catalogs  # noqa: F401  (the fixture)


def nav(html: str) -> str:
    return html[html.index("<nav") : html.index("</nav>") + len("</nav>")]


def fresh_nav(app, path: str, cart: int) -> str:
    """The navigation bar rendered from its template for this request, as every page
    rendered it before it was kept."""
    with app.test_request_context(path):
        html = render_template(
            "_nav.html", nav_cart=cart, nav_csrf=None, nav_next=request.full_path
        )
    return nav(html)


def test_a_visitors_bar_is_what_a_fresh_rendering_says(cached_app):
    client = cached_app.test_client()
    first = client.get("/products?q=荔枝&sort=price_asc").get_data(as_text=True)
    second = client.get("/login?next=/cart").get_data(as_text=True)
    assert nav(first) == fresh_nav(cached_app, "/products?q=荔枝&sort=price_asc", 0)
    assert nav(second) == fresh_nav(cached_app, "/login?next=/cart", 0)
    # the page to come back to is escaped, as the template escapes it
    assert 'name="next" value="/products?q=荔枝&amp;sort=price_asc"' in first


def test_the_visitors_cart_count_is_this_visitors(cached_app):
    product = SellableProductFactory(stock=10)
    client, other = cached_app.test_client(), cached_app.test_client()
    assert 'data-testid="cart-count">0<' in client.get("/").get_data(as_text=True)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 3})
    assert 'data-testid="cart-count">3<' in client.get("/").get_data(as_text=True)
    assert 'data-testid="cart-count">0<' in other.get("/").get_data(as_text=True)


def test_the_kept_bar_switches_the_language_from_this_site(cached_app):
    cached_app.config["WTF_CSRF_ENABLED"] = True
    client = cached_app.test_client()
    client.get("/")
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    response = client.post("/lang/en", data={"next": "/"}, headers=same_origin)
    assert response.status_code == 302


@pytest.mark.usefixtures("compiled_catalogs")
def test_each_language_keeps_its_own_bar(cached_app):
    client = cached_app.test_client()
    assert "消费帮扶商城" in nav(client.get("/").get_data(as_text=True))
    client.post("/lang/en")
    english = client.get("/").get_data(as_text=True)
    assert "Poverty Relief Marketplace" in nav(english) and "消费帮扶商城" not in english


def test_a_signed_in_bar_is_rendered_for_the_person(cached_app, auth):
    bureau = member_of(OrgKind.BUREAU)
    client = cached_app.test_client()
    client.get("/")  # a visitor's bar is kept first
    client.post("/login", data={"email": bureau.email, "password": "correct horse 9"})
    page = client.get("/").get_data(as_text=True)
    assert bureau.name in nav(page) and 'data-testid="user-menu"' in page
    assert "/bureau/households" in nav(page)  # the bureau's menu


def test_nothing_is_kept_in_debug_mode(cached_app):
    cached_app.debug = True
    try:
        cached_app.test_client().get("/login")
        assert cached_app.extensions.get(chrome._STORE, {}) == {}
    finally:
        cached_app.debug = False
    cached_app.test_client().get("/login")
    assert cached_app.extensions[chrome._STORE]


def test_the_home_body_is_served_from_the_cache(cached_app, monkeypatch):
    """For a signed-in person (who never gets a kept whole page) the body comes from the
    cache: nothing of it is rendered again."""
    CertificationFactory(product__name="白沙绿茶")
    user = UserFactory()
    client = cached_app.test_client()
    client.post("/login", data={"email": user.email, "password": "correct horse 9"})
    assert "白沙绿茶" in client.get("/").get_data(as_text=True)

    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(
        "marketplace.main.views.registries.home_sections.get",
        lambda: [type("S", (), {"render": fail, "areas": ("sales", "catalog")})()],
    )
    assert "白沙绿茶" in client.get("/").get_data(as_text=True)


def test_a_product_change_drops_the_home_body(cached_app):
    cert = CertificationFactory(product__name="五指山红茶")
    bureau_user = member_of(OrgKind.BUREAU)
    client = cached_app.test_client()
    assert "五指山红茶" in client.get("/").get_data(as_text=True)
    certification.suspend_certification(
        bureau_user, bureau_user.memberships[0].org, cert.id, "抽检不合格"
    )
    assert "五指山红茶" not in client.get("/").get_data(as_text=True)


def test_visitors_and_signed_in_people_get_their_own_home_body(cached_app):
    user = UserFactory()
    client = cached_app.test_client()
    assert 'href="/register"' in client.get("/").get_data(as_text=True).split("<main", 1)[1]
    client.post("/login", data={"email": user.email, "password": "correct horse 9"})
    main = client.get("/").get_data(as_text=True).split("<main", 1)[1]
    assert "注册账号" not in main  # the hero's sign-up buttons are a visitor's
    db.session.remove()


def test_a_visitor_without_a_session_gets_the_kept_whole_page(cached_app, monkeypatch):
    CertificationFactory(product__name="琼中绿橙")
    visitor = cached_app.test_client()
    first = visitor.get("/?from=wechat-123")
    impact = cached_app.test_client().get("/impact").get_data()
    assert "Set-Cookie" not in first.headers
    # the kept page comes back to the page itself, not to the first visitor's link
    assert 'name="next" value="/"' in first.get_data(as_text=True)
    assert "wechat-123" not in first.get_data(as_text=True)

    def fail(*args, **kwargs):
        raise AssertionError("rendered again")

    with monkeypatch.context() as patched:
        patched.setattr("marketplace.main.views.render_template", fail)
        patched.setattr("orders.reports.views.render_template", fail)
        again = cached_app.test_client().get("/?from=share-456")  # another visitor
        assert again.get_data() == first.get_data()
        assert cached_app.test_client().get("/impact?utm_source=x").get_data() == impact
    # security headers and a request id on the kept page too
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def test_someone_with_a_session_gets_the_page_afresh(cached_app):
    product = SellableProductFactory(stock=10, name="儋州黄皮")
    visitor = cached_app.test_client()
    assert 'data-testid="cart-count">0<' in visitor.get("/").get_data(as_text=True)
    shopper = cached_app.test_client()
    shopper.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    page = shopper.get("/?from=x").get_data(as_text=True)
    assert 'data-testid="cart-count">2<' in page  # not the kept visitor's page
    assert 'name="next" value="/?from=x"' in page


@pytest.mark.usefixtures("compiled_catalogs")
def test_each_language_has_its_own_kept_page(cached_app):
    assert "消费帮扶商城" in cached_app.test_client().get("/").get_data(as_text=True)
    english = cached_app.test_client()
    english.set_cookie("lang", "en")
    page = english.get("/").get_data(as_text=True)
    assert "Poverty Relief Marketplace" in page and "消费帮扶商城" not in page
