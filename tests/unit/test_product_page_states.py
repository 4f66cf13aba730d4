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


def test_a_product_suspended_by_the_bureau_says_so(client):
    from catalog.certification import suspend_certification
    from marketplace.models import OrgKind, Role

    from ..factories import member_of

    product = stocked_product(3)
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    suspend_certification(
        bureau, bureau.memberships[0].org, product.certifications[0].id, "抽检不合格"
    )
    response = client.get(f"/products/{product.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "暂停销售" in page and "该产品的扶贫产品认定已被暂停" in page
    assert 'data-testid="add-to-cart"' not in page and 'data-testid="buy-bar"' not in page


def test_a_withdrawn_product_says_so(client):
    from catalog.models import ProductStatus

    product = stocked_product(3)
    product.status = ProductStatus.ARCHIVED
    db.session.commit()
    response = client.get(f"/products/{product.id}")
    assert response.status_code == 200
    assert "该产品已下架" in response.get_data(as_text=True)


def test_a_draft_product_stays_404(client):
    from catalog.models import ProductStatus

    product = stocked_product(3)
    product.status = ProductStatus.DRAFT
    db.session.commit()
    assert client.get(f"/products/{product.id}").status_code == 404


def test_the_buy_bar_carries_the_form_and_its_stylesheet(client):
    product = stocked_product(2)
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="buy-bar"' in page and "css/product.css" in page
    bar = page.split('data-testid="buy-bar"', 1)[1]
    assert bar.index('data-testid="add-to-cart"') < bar.index("加入购物车")
    css = client.get("/static/css/product.css")
    rules = css.get_data(as_text=True)
    assert "position: fixed" in rules and "max-width: 767.98px" in rules
    css.close()


def test_sold_out_offers_a_restock_alert(client, auth):
    product = stocked_product(1)
    stock.sell([stock.Goods(product.id, 1)], Ref("test"))
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="restock-login"' in page  # a visitor is asked to log in first
    buyer = UserFactory()
    auth.login(buyer.email)
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="restock-alert"' in page
    client.post(f"/products/{product.id}/restock-alert")
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="restock-cancel"' in page and 'data-testid="restock-alert"' not in page
    client.post(f"/products/{product.id}/restock-alert", data={"cancel": "1"})
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="restock-alert"' in page


def test_sold_count_counts_every_channel(client):
    from orders.ledger.services import SaleItem, record_paid_sale

    product = stocked_product(10)
    record_paid_sale(
        "counter",
        [SaleItem(product, 4, 4 * product.price)],
        sale_date=local_today(),
        check_sellable=False,
    )
    assert "已售 4 件" in client.get(f"/products/{product.id}").get_data(as_text=True)
