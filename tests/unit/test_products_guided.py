"""Products, guided (issue 14, item 4, first part): after saving a new product the page
leads to photos, stock and certification; a listed product that is not certified is
shown as 待认定 (not on sale), never 已上架."""

from __future__ import annotations

from sqlalchemy import select

from catalog.models import Product
from marketplace.extensions import db

from ..catalog_factories import CertificationFactory, ProductFactory
from .test_catalog_vendor import home, login, product_form, vendor  # noqa: F401  (fixtures)


def test_a_new_product_leads_to_photos_stock_and_certification(client, login, vendor):  # noqa: F811
    login(vendor)
    response = client.post("/vendor/products/new", data=product_form())
    assert response.headers["Location"].endswith("?created=1")
    page = client.get(response.headers["Location"]).text
    product = db.session.scalar(select(Product).where(Product.name == "徐闻菠萝"))
    steps = page.split('data-testid="next-steps"', 1)[1].split("</div>", 1)[0]
    assert "#images" in steps
    assert f"/vendor/stock/{product.id}/receive" in steps
    assert f"/vendor/products/{product.id}/certify" in steps
    assert "待认定" in page and "已上架" not in page.split("<h1", 1)[1].split("</h1>", 1)[0]
    assert 'data-testid="next-steps"' not in client.get(f"/vendor/products/{product.id}/edit").text


def test_the_list_says_pending_certification_for_an_uncertified_listed_product(
    client,
    login,  # noqa: F811
    vendor,  # noqa: F811
):
    org = vendor.memberships[0].org
    bare = ProductFactory(vendor=org, name="未认定菠萝", status="active")
    certified = CertificationFactory(product=ProductFactory(vendor=org, name="已认定荔枝")).product
    login(vendor)
    page = client.get("/vendor/products").text
    rows = {
        name: page.split(name, 1)[1].split("</tr>", 1)[0] for name in (bare.name, certified.name)
    }
    assert "待认定" in rows[bare.name] and "已上架" not in rows[bare.name]
    assert "已上架" in rows[certified.name]
