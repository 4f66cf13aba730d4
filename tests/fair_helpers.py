"""A fair with an organizer and an admitted stall stocked with a sellable product: the
ground most fair tests stand on."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Product
from marketplace.clock import local_today
from marketplace.models import Organization, OrgKind, Role, User
from orders.fairs import fairs, stalls
from orders.fairs.models import Fair, FairStall

from .factories import MembershipFactory, OrgFactory, member_of
from .vendor_factories import SellableProductFactory


@dataclass
class Stall:
    organizer: User
    organizer_org: Organization
    seller: User
    vendor: Organization
    fair: Fair
    stall: FairStall
    product: Product


def organizer() -> User:
    return member_of(OrgKind.FAIR_ORGANIZER, Role.STAFF, name="爱心集市办")


def stall_at_fair(
    warehouse: int = 20, at_stall: int = 10, open_: bool = True, price: int = 2500
) -> Stall:
    """An organizer's fair today (open unless ``open_=False``) with one admitted stall
    holding ``at_stall`` units of a sellable product (``warehouse`` received first)."""
    boss = organizer()
    org = boss.memberships[0].org
    vendor = OrgFactory(kind=OrgKind.COOPERATIVE, name="椰乡合作社")
    seller = MembershipFactory(org=vendor, role=Role.STAFF).user
    product = SellableProductFactory(vendor=vendor, stock=warehouse, price=price)
    fair = fairs.plan_fair(
        boss, org, fairs.FairPlan("万绿园爱心集市", local_today(), "万绿园", "龙华区")
    )
    stall = fairs.apply_for_stall(seller, vendor, fair.id, "椰乡摊")
    fairs.admit_stall(boss, org, stall.id)
    if at_stall:
        stalls.move_to_stall(seller, vendor, fair.id, product.id, at_stall)
    if open_:
        fairs.open_fair(boss, org, fair.id)
    return Stall(boss, org, seller, vendor, fair, stall, product)
