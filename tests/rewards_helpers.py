"""Arranging the rewards tests: a household's linked product, sales of it on a date
(through the ledger's paid-sale core), refunds, and the bureau's staff."""

from __future__ import annotations

from datetime import UTC, date, datetime

from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.ledger import services as ledger
from orders.ledger.models import Channel, Order

from .catalog_factories import BenefitLinkFactory
from .factories import HouseholdFactory, member_of
from .vendor_factories import SellableProductFactory

YEAR = 2025


def in_year(frozen_clock, year: int, month: int = 2, day: int = 1) -> None:
    frozen_clock(datetime(year, month, day, 4, tzinfo=UTC))


def bureau_staff():
    return member_of(OrgKind.BUREAU, Role.STAFF, name="海口市乡村振兴局")


def product_for(*households, vendor=None, certified_from: date | None = None):
    """A product whose sales go to ``households`` in equal shares; certified from
    ``certified_from`` for a year when given (else only from a month before today)."""
    kwargs = {"links": 0, "stock": 0}
    if vendor is not None:
        kwargs["vendor"] = vendor
    if certified_from is not None:
        kwargs["certification__certified_on"] = certified_from
    product = SellableProductFactory(**kwargs)
    for household in households:
        BenefitLinkFactory(product=product, household=household)
    return product


def sell(product, yuan: int, *, units: int = 1, day: date = date(YEAR, 6, 1), channel=None):
    """``units`` units at ``yuan`` each, paid on ``day``."""
    return ledger.record_paid_sale(
        channel or Channel.COUNTER,
        [ledger.SaleItem(product, units, unit_price=yuan * 100)],
        sale_date=day,
        check_sellable=False,
    )


def refund_units(order: Order, units: int):
    line = order.lines[0]
    refund = ledger.refund(order, [(line.id, units)], reason="售后", actor="system")
    db.session.commit()
    return refund


def household_selling(yuan: int, **kwargs):
    """A new household whose linked product sold ``yuan`` in YEAR."""
    household = HouseholdFactory()
    sell(product_for(household), yuan, **kwargs)
    return household
