"""factory_boy factories for the catalog's models.

Defaults give a sellable product: ``CertificationFactory`` is approved and covers today,
and ``ProductFactory`` belongs to a new verified cooperative. Override what a test is
about, e.g. ``CertificationFactory(product=p, status=CertStatus.PENDING)`` or
``CertificationFactory(valid_until=local_today() + timedelta(days=5))``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory

from catalog.models import (
    ALWAYS,
    BenefitLink,
    BenefitMode,
    Category,
    Certification,
    CertStatus,
    PriceTier,
    Product,
    ProductStatus,
)
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgKind

from .factories import Base, HouseholdFactory, OrgFactory, VillageFactory

_DECIDED = (CertStatus.APPROVED, CertStatus.SUSPENDED, CertStatus.REVOKED)


class CategoryFactory(Base):
    class Meta:
        model = Category
        sqlalchemy_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"品类{n}")
    signature = False
    position = factory.Sequence(lambda n: n)


class ProductFactory(Base):
    class Meta:
        model = Product

    vendor = factory.SubFactory(OrgFactory, kind=OrgKind.COOPERATIVE)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"测试产品{n}")
    category = factory.SubFactory(CategoryFactory)
    description = ""
    specification = "500g/袋"
    unit = "袋"
    price = 2500  # fen
    origin_village = factory.SubFactory(VillageFactory)
    shelf_life = ""
    min_order_qty = 1
    status = ProductStatus.ACTIVE
    featured = False

    @factory.post_generation
    def tiers(obj, create, extracted, **kwargs):
        """``ProductFactory(tiers=[(10, 2300), (50, 2100)])`` adds bulk price tiers."""
        if extracted:
            obj.tiers = [PriceTier(min_qty=q, unit_price=p) for q, p in extracted]
        obj.refresh_search_text()
        if create:
            db.session.commit()


class CertificationFactory(Base):
    """Approved and covering today by default (certified a month ago, valid for a year
    from then); pass ``status=CertStatus.PENDING`` for an application."""

    class Meta:
        model = Certification

    product = factory.SubFactory(ProductFactory)
    status = CertStatus.APPROVED
    benefit_mode = BenefitMode.PURCHASE
    expected_annual_value = 100_000  # fen
    note = ""
    test_report_file = None
    test_report_valid_until = None
    certificate_no = factory.LazyAttributeSequence(
        lambda o, n: f"FP-{n:06d}" if o.status in _DECIDED else None
    )
    certified_on = factory.LazyAttribute(
        lambda o: local_today() - timedelta(days=30) if o.status in _DECIDED else None
    )
    valid_until = factory.LazyAttribute(
        lambda o: o.certified_on + timedelta(days=365) if o.certified_on else None
    )
    reason = None


class BenefitLinkFactory(Base):
    class Meta:
        model = BenefitLink

    product = factory.SubFactory(ProductFactory)
    household = factory.SubFactory(HouseholdFactory)
    weight = Decimal("1")
    valid_from = ALWAYS
    certification_id = None
