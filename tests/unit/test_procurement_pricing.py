"""One pricing rule (catalog/pricing.py): tier prices at their boundaries, the agencies'
minimum order quantity, the citizen cart and checkout charging the tier price, and the
amounts in Chinese capitals on printed documents."""

from __future__ import annotations

import pytest

from catalog import pricing
from marketplace.errors import ValidationError
from marketplace.money import MoneyError, capitals
from orders.shop.cart import cart_lines
from orders.shop.checkout import place_order

from ..catalog_factories import ProductFactory
from ..factories import UserFactory
from ..vendor_factories import SellableProductFactory
from .test_shop_core import address


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(1, 6800), (19, 6800), (20, 6200), (21, 6200), (49, 6200), (50, 5800), (500, 5800)],
)
def test_tier_prices_at_the_boundaries(quantity, price):
    product = ProductFactory(price=6800, tiers=[(20, 6200), (50, 5800)])
    assert pricing.unit_price(product, quantity) == price
    assert pricing.line_amount(product, quantity) == price * quantity


def test_the_price_table_bands_follow_the_tiers():
    product = ProductFactory(price=6800, tiers=[(20, 6200), (50, 5800)])
    assert pricing.price_table(product) == [
        pricing.TierRow(1, 19, 6800),
        pricing.TierRow(20, 49, 6200),
        pricing.TierRow(50, None, 5800),
    ]


def test_agencies_may_not_order_below_the_minimum_quantity():
    product = ProductFactory(min_order_qty=10, unit="箱")
    with pytest.raises(ValidationError, match="起订量为 10 箱"):
        pricing.check_quantity(product, 9, agency=True)
    pricing.check_quantity(product, 10, agency=True)
    pricing.check_quantity(product, 1, agency=False)  # a citizen may buy one
    with pytest.raises(ValidationError):
        pricing.check_quantity(product, 0, agency=False)


def test_the_citizen_cart_and_checkout_charge_the_tier_price():
    product = SellableProductFactory(price=6800, tiers=[(20, 6200)], stock=50)
    (line,) = cart_lines({product.id: 20})
    assert (line.unit_price, line.amount) == (6200, 124000)
    (retail,) = cart_lines({product.id: 19})
    assert retail.unit_price == 6800
    order = place_order(UserFactory(), {product.id: 20}, address(), "tok-tier")
    assert order.total == 124000
    assert order.lines[0].unit_price == 6200


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (5, "伍分"),
        (50, "伍角整"),
        (1000, "壹拾元整"),
        (10001050, "壹拾万零壹拾元伍角整"),
        (100000000, "壹佰万元整"),
        (8223240000, "捌仟贰佰贰拾叁万贰仟肆佰元整"),
        (0, "零元整"),
        (1005, "壹拾元零伍分"),
        (155, "壹元伍角伍分"),
        (10000000001, "壹亿元零壹分"),
        (100100, "壹仟零壹元整"),
        (1000010000, "壹仟万零壹佰元整"),
    ],
)
def test_capital_numerals(fen, words):
    assert capitals(fen) == words


def test_capital_numerals_refuse_negative_amounts():
    with pytest.raises(MoneyError):
        capitals(-1)
