"""factory_boy factories for the vendors package: products with stock, and stock
locations other than the warehouse.

Stock changes only through the stock service, so units go in as a recorded receipt
(``services.receive`` at the vendor's warehouse), as a vendor's would, never by writing a
level. Override what a test is about:

- ``StockedProductFactory(vendor=org, stock=40)``: a product of ``org`` with 40 units
  (10 by default; ``stock=0`` for none), not certified.
- ``SellableProductFactory(stock=1, price=1999)``: the same, certified today and linked to
  two households (``links=N`` for another number), so a sale of it is attributed.
- ``FairStallFactory(vendor=org, name="冬交会")``: the vendor's stock location at a fair.
"""

from __future__ import annotations

import factory

from catalog.models import Product
from vendors import services
from vendors.models import LocationKind, StockLocation, StockMovement

from .catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from .factories import Base, OrgFactory


def receive(
    product: Product, quantity: int, note: str | None = None, location: StockLocation | None = None
) -> StockMovement:
    """``quantity`` units of ``product`` received at its vendor's warehouse (or at
    ``location``), through the stock service."""
    location_id = location.id if location else services.warehouse(product.vendor_id).id
    return services.receive(product.id, location_id, quantity, services.Ref(note=note))


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


class FairStallFactory(Base):
    """A vendor's stock location at a fair (its warehouse is ``services.warehouse``)."""

    class Meta:
        model = StockLocation

    vendor = factory.SubFactory(OrgFactory)
    kind = LocationKind.FAIR
    name = factory.Sequence(lambda n: f"集市展位{n}")
