"""The vendors' and orders' test factories leave what the real use cases leave: stock put
in by a recorded receipt, orders reserving and selling stock, paid lines attributed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from catalog.models import BenefitLink
from catalog.sellability import ensure_sellable
from marketplace.extensions import db
from orders.ledger.models import Attribution, Channel, OrderStatus
from orders.ledger.services import SaleItem
from vendors import stock
from vendors.locations import warehouse
from vendors.models import StockMovement

from ..factories import UserFactory
from ..order_factories import FairFactory, PaidOrderFactory, PaidSaleFactory, PendingOrderFactory
from ..stock_helpers import warehouse_level
from ..vendor_factories import SellableProductFactory, StockedProductFactory


def attributed(order) -> dict[int, int]:
    rows = db.session.execute(
        select(Attribution.household_id, func.sum(Attribution.amount))
        .where(Attribution.order_id == order.id)
        .group_by(Attribution.household_id)
    )
    return dict(rows.all())


def households_linked(product) -> set[int]:
    return set(
        db.session.scalars(
            select(BenefitLink.household_id).where(BenefitLink.product_id == product.id)
        )
    )


def test_a_stocked_product_gets_its_units_by_a_recorded_receipt():
    product = StockedProductFactory(stock=4)
    movement = db.session.scalar(select(StockMovement))
    home = warehouse(product.vendor_id)
    assert (movement.kind, movement.location_id, movement.on_hand_after) == ("receipt", home.id, 4)
    assert stock.available(product.id) == 4
    assert stock.available(StockedProductFactory().id) == 10
    assert stock.available(StockedProductFactory(stock=0).id) == 0


def test_a_sellable_product_is_certified_today_and_helps_two_households():
    product = SellableProductFactory()
    ensure_sellable(product, date.today())
    assert len(households_linked(product)) == 2
    assert len(households_linked(SellableProductFactory(links=3))) == 3


def test_a_pending_order_reserves_its_stock():
    product = SellableProductFactory(stock=5, price=1999)
    buyer = UserFactory()
    order = PendingOrderFactory(buyer=buyer, items={product: 2})
    assert (order.status, order.buyer_user_id, order.total) == (
        OrderStatus.PENDING_PAYMENT,
        buyer.id,
        3998,
    )
    assert [(line.product_name, line.quantity) for line in order.lines] == [(product.name, 2)]
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (5, 2)
    assert attributed(order) == {}


def test_a_paid_order_sells_its_stock_and_is_attributed():
    product = SellableProductFactory(stock=5, price=1001)
    order = PaidOrderFactory(items={product: 3})
    assert order.status == OrderStatus.PAID and order.channel == Channel.ONLINE
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (2, 0)
    shares = attributed(order)
    assert len(shares) == 2 and sum(shares.values()) == order.total == 3003


def test_a_paid_sale_at_a_fair_is_attributed():
    product = SellableProductFactory(stock=0)
    fair = FairFactory()
    order = PaidSaleFactory(
        channel=Channel.FAIR, fair=fair, items=[SaleItem(product, 4, unit_price=500)]
    )
    assert (order.status, order.channel, order.fair_id, order.total) == (
        OrderStatus.PAID,
        Channel.FAIR,
        fair.id,
        2000,
    )
    assert order.sale_date == date.today()
    assert sum(attributed(order).values()) == 2000
    assert PaidSaleFactory().channel == Channel.COUNTER
