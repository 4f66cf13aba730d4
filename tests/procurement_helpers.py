"""Arranging procurement in tests: an agency with a buyer, an approver and an admin, a
vendor with staff and certified products with bulk tiers and stock, and orders walked to
any state through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from marketplace.clock import local_today
from marketplace.models import Organization, OrgKind, Role, User
from orders.procurement import basket, services
from orders.procurement.models import ProcurementOrder

from .factories import MembershipFactory, OrgFactory
from .vendor_factories import SellableProductFactory


@dataclass
class Agency:
    org: Organization
    buyer: User
    approver: User
    admin: User


@dataclass
class Vendor:
    org: Organization
    staff: User


def agency(name: str | None = None, **fields) -> Agency:
    org = OrgFactory(kind=OrgKind.AGENCY, **({"name": name} if name else {}), **fields)
    members = {
        role: MembershipFactory(org=org, role=role).user
        for role in (Role.BUYER, Role.APPROVER, Role.ADMIN)
    }
    return Agency(org, members[Role.BUYER], members[Role.APPROVER], members[Role.ADMIN])


def vendor() -> Vendor:
    org = OrgFactory(kind=OrgKind.COOPERATIVE)
    return Vendor(org, MembershipFactory(org=org, role=Role.STAFF).user)


def product(vendor: Vendor, **fields):
    """Certified, linked to two households, 100 units; retail 68.00, 62.00 from 20."""
    fields.setdefault("price", 6800)
    fields.setdefault("tiers", [(20, 6200)])
    fields.setdefault("stock", 100)
    fields.setdefault("unit", "箱")
    return SellableProductFactory(vendor=vendor.org, **fields)


DELIVERY = basket.ProcurementDelivery(
    "海口市龙华区滨海大道1号食堂", "王师傅", "13800000000", 15, ""
)


def submitted(ag: Agency, items: dict) -> list[ProcurementOrder]:
    """``items``: {product: quantity}; one order per vendor, submitted by the buyer."""
    for product_, quantity in items.items():
        basket.set_quantity(ag.buyer, ag.org, product_.id, quantity)
    return basket.submit_basket(ag.buyer, ag.org, DELIVERY)


STEPS = ["submitted", "approved", "confirmed", "shipped", "accepted", "invoiced", "paid"]


def walk(
    ag: Agency,
    ven: Vendor,
    items: dict,
    to: str,
    *,
    short: int = 0,
    paid_on=None,
) -> ProcurementOrder:
    """An order of ``items`` from ``ven`` walked to state ``to`` (one of ``STEPS``);
    ``short`` units of the first line missing at acceptance."""
    (order,) = submitted(ag, items)
    index = STEPS.index(to)
    if index >= 1:
        services.approve(ag.approver, ag.org, order.id)
    if index >= 2:
        services.confirm(ven.staff, ven.org, order.id)
    if index >= 3:
        services.ship(ven.staff, ven.org, order.id, {ln.id: ln.quantity for ln in order.lines})
    if index >= 4:
        received = {ln.id: ln.quantity for ln in order.lines}
        received[order.lines[0].id] -= short
        services.accept(ag.buyer, ag.org, order.id, received)
    if index >= 5:
        services.invoice(
            ven.staff,
            ven.org,
            order.id,
            services.Invoice(
                "No12345678", local_today(), order.accepted_total, ag.org.name, "11460100MB0000000X"
            ),
        )
    if index >= 6:
        services.pay(
            ag.buyer,
            ag.org,
            order.id,
            services.TransferPayment("HX2026001", paid_on or local_today() - timedelta(days=0)),
        )
    return order
