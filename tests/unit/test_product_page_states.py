"""Product pages that tell the truth (issue 13, item 6): a sold-out product offers no
active 加入购物车; a product whose certification expired or was suspended shows 暂停销售
with why instead of a bare 404; the page shows 已售 N 件 (paid, net of refunds)."""

from __future__ import annotations

from datetime import timedelta

from marketplace.clock import local_today
from marketplace.extensions import db
from orders.shop.fulfilment import cancel_by_buyer
from vendors import stock
from vendors.stock import Ref

from ..factories import UserFactory
from .test_fulfilment import paid_order
from .test_shop_core import stocked_product


def test_sold_out_disables_add_to_cart(client):
    product = stocked_product(1)
    assert 'data-testid="add-to-cart"' in client.get(f"/products/{product.id}").get_data(
        as_text=True
    )
    stock.sell([stock.Goods(product.id, 1)], Ref("test"))
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="sold-out"' in page and "disabled" in page
    assert 'data-testid="add-to-cart"' not in page


def test_an_expired_product_says_why_instead_of_404(client):
    product = stocked_product(3)
    cert = product.certifications[0]
    cert.valid_until = local_today() - timedelta(days=1)
    db.session.commit()
    response = client.get(f"/products/{product.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "暂停销售" in page and "该产品的扶贫产品认定已过期" in page
    assert 'data-testid="add-to-cart"' not in page
    assert client.get("/products/999999").status_code == 404


def test_sold_count_is_paid_units_net_of_refunds(client):
    product = stocked_product(10)
    buyer = UserFactory()
    paid_order(buyer, {product: 3}, "t-sold-1")
    regret = paid_order(buyer, {product: 2}, "t-sold-2")
    cancel_by_buyer(buyer, regret.id, "买多了")
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "已售 3 件" in page
