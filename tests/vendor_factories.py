"""factory_boy factories for the vendors package: products with stock.

Stock changes only through vendors' stock API, so units go in as a recorded receipt
(``stock.receive`` at the vendor's warehouse, or another place), as a vendor's would,
never by writing a level. Override what a test is about:

- ``StockedProductFactory(vendor=org, stock=40)``: a product of ``org`` with 40 units
  (10 by default; ``stock=0`` for none), not certified.
- ``SellableProductFactory(stock=1, price=1999)``: the same, certified today and linked to
  two households (``links=N`` for another number), so a sale of it is attributed.
"""

from __future__ import annotations

import factory

from catalog.models import Product
from vendors import stock
from vendors.models import StockMovement
from vendors.stock import WAREHOUSE, Goods, Place, Ref

from .catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory


def receive(
    product: Product, quantity: int, note: str | None = None, place: Place = WAREHOUSE
) -> StockMovement:
    """``quantity`` units of ``product`` received at its vendor's warehouse (or at
    ``place``), through the stock API."""
    return stock.receive([Goods(product.id, quantity, place)], Ref(note=note))[0]


class StockedProductFactory(ProductFactory):
    """A product with ``stock`` units (default 10) received at its vendor's warehouse."""

    @factory.post_generation
    def stock(obj, create, extracted, **kwargs):
        units = 10 if extracted is None else extracted
        if create and units:
            receive(obj, units)


class SellableProductFactory(StockedProductFactory):
    """A stocked product certified today (``certification__...`` overrides the
    ``CertificationFactory``) with ``links`` benefit links (default 2)."""

    @factory.post_generation
    def certification(obj, create, extracted, **kwargs):
        if create:
            CertificationFactory(product=obj, **kwargs)

    @factory.post_generation
    def links(obj, create, extracted, **kwargs):
        if create:
            for _ in range(2 if extracted is None else extracted):
                BenefitLinkFactory(product=obj, **kwargs)
