"""factory_boy factories for orders. An order is made by the shop's and the ledger's own
services, never written row by row, so it is exactly what a real checkout or sale leaves
behind: lines copying the product, stock reserved or sold, attribution rows.

- ``PendingOrderFactory(buyer=user, items={product: 2}, token="t-1")``: an online order
  awaiting payment, its stock reserved. By default a new buyer orders one unit of a new
  ``SellableProductFactory`` product, delivered to an address.
- ``PaidOrderFactory(...)``: the same order paid through the test gateway: stock sold,
  every line attributed to the product's households.
- ``PaidSaleFactory(channel="counter", items=[SaleItem(product, 2)])``: a sale paid on the
  spot (fair, counter, procurement) through ``record_paid_sale``.
- ``FairFactory(date=...)``: a planned fair.
"""

from __future__ import annotations

from datetime import date

import factory

from orders.fairs.models import Fair, FairStatus
from orders.ledger import services as ledger
from orders.ledger.models import Channel, Order, PaymentMethod
from orders.shop.checkout import Delivery, place_order
from orders.shop.models import DeliveryMethod
from orders.shop.payment import complete_payment, start_payment

from .factories import Base, UserFactory
from .vendor_factories import SellableProductFactory


class DeliveryFactory(factory.Factory):
    class Meta:
        model = Delivery

    method = DeliveryMethod.ADDRESS
    recipient = "李市民"
    phone = "13800000000"
    address = "海南省海口市龙华区滨海大道1号"


class PendingOrderFactory(factory.Factory):
    """``place_order``; ``items`` maps each product to its quantity."""

    class Meta:
        model = Order
        strategy = factory.CREATE_STRATEGY

    buyer = factory.SubFactory(UserFactory)
    items = factory.LazyFunction(lambda: {SellableProductFactory(): 1})
    delivery = factory.SubFactory(DeliveryFactory)
    token = factory.Sequence(lambda n: f"checkout-{n}")

    @classmethod
    def _create(cls, model_class, buyer, items, delivery, token):
        quantities = {product.id: quantity for product, quantity in items.items()}
        return place_order(buyer, quantities, delivery, token)


class PaidOrderFactory(PendingOrderFactory):
    """A pending order, then paid through the test gateway as a buyer would pay it."""

    @classmethod
    def _create(cls, model_class, **kwargs):
        order = super()._create(model_class, **kwargs)
        outcome = complete_payment("test", start_payment(order).reference)
        assert outcome.status == "paid", outcome.message
        return order


class PaidSaleFactory(factory.Factory):
    """``record_paid_sale``: by default one unit of a new sellable product sold today at
    a counter for cash."""

    class Meta:
        model = Order
        strategy = factory.CREATE_STRATEGY

    channel = Channel.COUNTER
    items = factory.LazyFunction(lambda: [ledger.SaleItem(SellableProductFactory(), 1)])
    sale_date = factory.LazyFunction(date.today)
    payment_method = PaymentMethod.CASH
    buyer_name = None
    fair = None

    @classmethod
    def _create(cls, model_class, channel, items, **kwargs):
        return ledger.record_paid_sale(channel, items, **kwargs)


class FairFactory(Base):
    class Meta:
        model = Fair

    code = factory.Sequence(lambda n: f"F-{n:03d}")
    name = factory.Sequence(lambda n: f"爱心扶贫集市{n}")
    date = factory.LazyFunction(date.today)
    venue = "万绿园"
    district = "龙华区"
    status = FairStatus.PLANNED
