"""One seeded world for the route-access walk (tests/unit/test_route_access.py): a user
for every role and one object of each kind a URL names, each owned by someone, so every
route can be asked for as its owner, as a stranger and as every other role.

The households are the first 40 of the demo's register (``households_csv``, the rows
``flask demo load`` imports, same codes and names), imported the same way, plus those the
factories link to the products. Loading the whole demo costs about half a minute; these 40
cover every kind of page a household can appear on, since the world's products are linked
to some of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from catalog.models import BenefitLink, Certification, ProductImage
from marketplace import clock
from marketplace.accounts.services import save_address
from marketplace.bureau.imports import HouseholdsImport
from marketplace.clock import local_today
from marketplace.demo import households_csv
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.models import Household, OrgKind, Role
from marketplace.notifications.models import Notification
from marketplace.notifications.services import Notice, notify_users
from orders.fairs import counters, fairs, stalls
from orders.settlement import services as settlement
from orders.shop import aftersales, invoices, station
from orders.shop.checkout import Delivery
from orders.shop.fulfilment import ship_part
from orders.shop.models import InvoiceTitleKind
from orders.shop.pickup import create_pickup_point

from . import procurement_helpers as proc
from .catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from .factories import MembershipFactory, OrgFactory, UserFactory, member_of
from .order_factories import PaidOrderFactory
from .vendor_factories import SellableProductFactory, receive

ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "vendor",
    "other_vendor",
    "buyer",
    "approver",
    "organizer",
    "counter",
    "pickup",
    "bureau",
)
DEMO_SAMPLE = 40
MISSING = 987654  # an id no object has
# the citizen's delivery details: for the citizen, the vendor who ships and the bureau
PRIVATE_PHONE, PRIVATE_ADDRESS = "13812345678", "海南省海口市龙华区路由路8号"


@dataclass
class World:
    users: dict[str, str | None]  # role -> e-mail to log in with
    values: dict[str, object]  # URL argument -> value
    household_names: list[str] = field(default_factory=list)
    household_codes: list[str] = field(default_factory=list)


STATION = {
    "name": "路由测试服务站",
    "kind": "village_station",
    "district": "秀英区",
    "town": "石山镇",
    "village": "施茶村",
    "address": "施茶村委会旁",
    "phone": "0898-68660002",
}


def build_world() -> World:
    run_import(HouseholdsImport("demo"), households_csv(DEMO_SAMPLE).encode())
    demo_households = db.session.scalars(select(Household).order_by(Household.id)).all()

    bureau = member_of(OrgKind.BUREAU, Role.STAFF, name="路由测试乡村振兴局")
    bureau_org = bureau.memberships[0].org

    # the owning vendor sits in the first demo household's village: its certification
    # picker may offer that town's households (codes, masked names)
    home = demo_households[0].village
    vendor_org = OrgFactory(
        kind=OrgKind.COOPERATIVE, name="路由测试合作社", village_id=home.id, town_id=home.town_id
    )
    vendor = MembershipFactory(org=vendor_org, role=Role.STAFF).user
    other_org = OrgFactory(kind=OrgKind.COOPERATIVE, name="路由测试别家合作社")
    other_vendor = MembershipFactory(org=other_org, role=Role.STAFF).user

    product = proc.product(proc.Vendor(vendor_org, vendor), name="路由测试荔枝")
    for household in demo_households[:5]:
        BenefitLinkFactory(product=product, household=household, weight=Decimal(1))
    SellableProductFactory(vendor=other_org, name="路由测试别家蜂蜜")
    image = ProductImage(
        product_id=product.id,
        filename="0" * 32 + ".jpg",
        thumb_filename="1" * 32 + ".jpg",
        width=10,
        height=10,
    )
    db.session.add(image)
    db.session.commit()
    pending = ProductFactory(vendor=vendor_org, name="路由测试待认证")
    CertificationFactory(product=pending, status="pending")
    movement = receive(product, 5, note="批次")

    # citizen: an address, a paid order shipped in one part, an after-sales request
    citizen = UserFactory(name="路由市民")
    other_citizen = UserFactory(name="路由别的市民")
    address = save_address(
        citizen,
        {
            "recipient": "路由市民",
            "phone": "13800000001",
            "address": "海南省海口市龙华区滨海大道2号",
        },
    )
    order = PaidOrderFactory(
        buyer=citizen,
        items={product: 2},
        delivery=Delivery("address", "路由收件人", PRIVATE_PHONE, PRIVATE_ADDRESS),
    )
    shipment = order.shipments[0]
    ship_part(vendor, vendor_org, order.id, "顺丰速运", "SF-ROUTES-1")
    request = aftersales.request_after_sales(
        citizen, order.id, shipment.id, "refund", "少了一个", {order.lines[0].id: 1}
    )

    invoice = invoices.request_invoice(
        citizen,
        order.id,
        shipment.id,
        invoices.InvoiceDetails(InvoiceTitleKind.PERSONAL, "路由市民", email="fapiao@example.cn"),
    )

    # last month's statement of the vendor: an order paid on the 15th of last month
    last_month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    real_now = clock._now
    clock._now = lambda: datetime.combine(last_month.replace(day=15), time(4), UTC)
    try:
        PaidOrderFactory(buyer=other_citizen, items={product: 1})
    finally:
        clock._now = real_now
    (statement,) = settlement.issue_month(bureau, bureau_org, last_month)

    # pick-up point and its staff; a pick-up order waiting there
    point = create_pickup_point(bureau, bureau_org, STATION)
    keeper = UserFactory(name="路由站长")
    staff_row = station.assign_staff(bureau, bureau_org, point.id, keeper.email)
    pickup_order = PaidOrderFactory(
        buyer=citizen,
        items={product: 1},
        delivery=Delivery("pickup", phone="13976540002", pickup_point_id=point.id),
    )

    # agency: a procurement order from the vendor
    agency = proc.agency("路由测试教育局")
    procurement = proc.walk(agency, proc.Vendor(vendor_org, vendor), {product: 20}, "submitted")

    # fair: organizer's fair today with the vendor's admitted stall
    organizer = member_of(OrgKind.FAIR_ORGANIZER, Role.STAFF, name="路由测试集市办")
    organizer_org = organizer.memberships[0].org
    fair = fairs.plan_fair(
        organizer, organizer_org, fairs.FairPlan("路由测试集市", local_today(), "万绿园", "龙华区")
    )
    stall = fairs.apply_for_stall(vendor, vendor_org, fair.id, "路由摊")
    fairs.admit_stall(organizer, organizer_org, stall.id)
    stalls.move_to_stall(vendor, vendor_org, fair.id, product.id, 3)
    fairs.open_fair(organizer, organizer_org, fair.id)
    sale = stalls.record_stall_sale(
        vendor, vendor_org, fair.id, "routes-sale-1", [stalls.SaleLine(product.id, 1)], "cash"
    ).sale

    # counter: a retailer's store with the vendor's goods
    counter = member_of(OrgKind.RETAILER, Role.STAFF, name="路由测试超市")
    store = counters.register_store(
        counter, counter.memberships[0].org, "路由超市国贸店", "国贸路1号", "龙华区"
    )
    counters.place_at_counter(vendor, vendor_org, store.id, product.id, 2)

    notify_users([citizen], Notice("routes", lambda: ("您的订单已发货", "路由测试的通知")))
    notice = db.session.scalar(
        select(Notification).where(Notification.user_id == citizen.id).limit(1)
    )
    cert = db.session.scalar(select(Certification).where(Certification.product_id == product.id))
    households = db.session.scalars(select(Household)).all()
    linked = {link.household_id for link in db.session.scalars(select(BenefitLink))}
    assert linked, "the world's products benefit households"
    return World(
        users={
            role: user.email if user else None
            for role, user in {
                "anonymous": None,
                "citizen": citizen,
                "other_citizen": other_citizen,
                "vendor": vendor,
                "other_vendor": other_vendor,
                "buyer": agency.buyer,
                "approver": agency.approver,
                "organizer": organizer,
                "counter": counter,
                "pickup": keeper,
                "bureau": bureau,
            }.items()
        },
        values={
            "order_id": order.id,
            "shipment_id": shipment.id,
            "request_id": request.id,
            "address_id": address.id,
            "notice_id": notice.id,
            "product_id": product.id,
            "image_id": image.id,
            "cert_id": cert.id,
            "vendor_id": vendor_org.id,
            "org_id": vendor_org.id,
            "household_id": demo_households[0].id,
            "fair_id": fair.id,
            "stall_id": stall.id,
            "point_id": point.id,
            "staff_id": staff_row.id,
            "agency_id": agency.org.id,
            "store_id": store.id,
            "movement_id": movement.id,
            "membership_id": vendor.memberships[0].id,
            "procurement_order_id": procurement.id,
            "sale_id": sale.id,
            "invoice_id": invoice.id,
            "statement_id": statement.id,
            "pickup_order_id": pickup_order.id,
            "pickup_shipment_id": pickup_order.shipments[0].id,
        },
        household_names=[h.head_name for h in households],
        household_codes=[h.code for h in households],
    )
