"""Online shop demo: the bureau's pick-up points (village e-commerce stations in the
poor villages, town e-commerce service centres), three demo citizens with addresses, and
their online orders in every state a buyer, vendor or the bureau can meet: waiting for
payment, paid and waiting for shipment, shipped, received, expired unpaid, part
cancelled by a vendor, refunded by the buyer before shipping, refunded after sales; then
the cooperative's shipping rule (运费, 包邮 from 99 yuan, no fresh goods to two provinces).

Everything goes through the shop's own services (checkout, the local test gateway,
shipping, receipt, cancellations, refunds), so stock movements, the ledger and the
household attribution agree. Runs after the stock step; loads once; deterministic.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from catalog.models import Product
from catalog.sellability import unsellable_reason
from marketplace import registries
from marketplace.accounts.services import hash_password, save_address
from marketplace.clock import local_today
from marketplace.demo import DEMO_PASSWORD, DEMO_USERS
from marketplace.extensions import db
from marketplace.models import Organization, User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.ledger.models import Order
from orders.shop import invoices, shipping
from orders.shop.checkout import Delivery, place_order, reservation_minutes
from orders.shop.expiry import expire_if_due
from orders.shop.fulfilment import (
    after_sales_refund,
    cancel_by_buyer,
    cancel_part,
    confirm_receipt,
    ship_part,
)
from orders.shop.models import DeliveryMethod, PickupPoint
from orders.shop.payment import complete_payment, start_payment
from orders.shop.pickup import PICKUP_POINT_FIELDS, create_pickup_point, set_pickup_point_active
from orders.shop.station import assign_staff, record_arrival
from vendors import stock

TOKEN = "demo-shop-{}"
# name, kind, district, town, village, address, phone
PICKUP_POINTS = [
    (
        "建群村电商服务站",
        "village_station",
        "秀英区",
        "永兴镇",
        "建群村",
        "建群村委会一楼便民服务大厅",
        "13907561101",
    ),
    (
        "施茶村电商服务站",
        "village_station",
        "秀英区",
        "石山镇",
        "施茶村",
        "施茶村火山石斛园旁",
        "13907561102",
    ),
    (
        "光明村电商服务站",
        "village_station",
        "龙华区",
        "新坡镇",
        "光明村",
        "光明村委会文化室",
        "13907561103",
    ),
    (
        "谭文村电商服务站",
        "village_station",
        "琼山区",
        "三门坡镇",
        "谭文村",
        "谭文村莲雾收购点旁",
        "13907561104",
    ),
    (
        "茄南村电商服务站",
        "village_station",
        "美兰区",
        "三江镇",
        "茄南村",
        "茄南村委会旁小卖部",
        "13907561105",
    ),
    (
        "永兴镇电商服务中心",
        "town_centre",
        "秀英区",
        "永兴镇",
        "",
        "永兴镇墟永秀路 18 号",
        "0898-68651001",
    ),
    (
        "三门坡镇电商服务中心",
        "town_centre",
        "琼山区",
        "三门坡镇",
        "",
        "三门坡镇政府对面",
        "0898-65861002",
    ),
    (
        "演丰镇电商服务中心",
        "town_centre",
        "美兰区",
        "演丰镇",
        "",
        "演丰镇红树林大道 6 号",
        "0898-65961003",
    ),
]
# a closed station, to show the bureau's list keeps it (checkout no longer offers it)
CLOSED_POINT = (
    "东谭村电商服务站（旧址）",
    "village_station",
    "龙华区",
    "遵谭镇",
    "东谭村",
    "东谭村老村委会",
    "",
)
CITIZEN_ADDRESSES = {
    "citizen@demo.cn": ("李市民", "13876540001", "龙华区", "滨海大道 105 号 2 栋 1203 室"),
    "citizen2@demo.cn": ("王阿姨", "13876540002", "美兰区", "海甸岛人民大道 58 号 5 单元 302 室"),
    "citizen3@demo.cn": ("陈先生", "13876540003", "琼山区", "府城镇文庄路 12 号"),
}
# the two vendors whose demo staff ship (coop@demo.cn, enterprise@demo.cn)
VENDOR_CODES = ("V001", "V007")
UNITS_ON_HAND = 30  # each chosen product gets at least this many units before ordering


@contextmanager
def _quietly() -> Iterator[None]:
    """Demo orders send no e-mail (the citizens' addresses are not real)."""
    notifier = registries.order_notifier.get()
    registries.order_notifier.fill(current_app, None)
    try:
        yield
    finally:
        registries.order_notifier.fill(current_app, notifier)


@contextmanager
def _long_reservation() -> Iterator[None]:
    """The demo's unpaid order holds its stock for a day, so the state can be seen."""
    before = current_app.config.get("ORDER_RESERVATION_MINUTES")
    current_app.config["ORDER_RESERVATION_MINUTES"] = 24 * 60
    try:
        yield
    finally:
        if before is None:
            current_app.config.pop("ORDER_RESERVATION_MINUTES", None)
        else:
            current_app.config["ORDER_RESERVATION_MINUTES"] = before


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:  # a database loaded before these citizens joined DEMO_USERS
        name = next(row[1] for row in DEMO_USERS if row[0] == email)
        with unit_of_work():
            user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD))
            db.session.add(user)
    return user


def _citizens() -> dict[str, User]:
    citizens = {}
    for email, (recipient, phone, district, detail) in CITIZEN_ADDRESSES.items():
        user = _user(email)
        if not user.addresses:
            save_address(
                user,
                {
                    "recipient": recipient,
                    "phone": phone,
                    "province": "海南省",
                    "city": "海口市",
                    "district": district,
                    "detail": detail,
                    "is_default": True,
                },
            )
        if not user.phone:
            with unit_of_work():
                user.phone = phone
        citizens[email] = user
    return citizens


def _pickup_points(bureau_admin: User, bureau: Organization) -> dict[str, PickupPoint]:
    fields = PICKUP_POINT_FIELDS
    for row in [*PICKUP_POINTS, CLOSED_POINT]:
        data = dict(zip(fields, row, strict=True))
        exists = db.session.scalar(select(PickupPoint).where(PickupPoint.name == data["name"]))
        if exists is None:
            point = create_pickup_point(bureau_admin, bureau, data)
            if row is CLOSED_POINT:
                set_pickup_point_active(bureau_admin, bureau, point.id, False)
    return {p.name: p for p in db.session.scalars(select(PickupPoint))}


def _products(vendor: Organization, count: int = 2) -> list[Product]:
    """The vendor's first products (by SKU) that can be sold online today, one by one
    (no minimum order quantity), each with enough stock for the demo orders."""
    today = local_today()
    chosen = [
        p
        for p in db.session.scalars(
            select(Product).where(Product.vendor_id == vendor.id).order_by(Product.sku)
        )
        if p.min_order_qty <= 1 and unsellable_reason(p, today) is None
    ][:count]
    staff = next((m.user for m in vendor.memberships), None)
    for product in chosen:
        short = UNITS_ON_HAND - stock.available(product.id)
        if short > 0:
            stock.receive(
                [stock.Goods(product.id, short)],
                stock.Ref(type="demo", actor=staff or "demo", note="线上商城备货"),
            )
    return chosen


def _address_of(user: User) -> Delivery:
    address = user.addresses[0]
    return Delivery(DeliveryMethod.ADDRESS, address.recipient, address.phone, address.one_line())


def _demo_pdf() -> io.BytesIO:
    """A one-page PDF standing in for a real e-invoice in the demo."""
    return io.BytesIO(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def load_shop_demo() -> bool:
    if db.session.scalar(select(Order.id).where(Order.checkout_token == TOKEN.format(1))):
        return False
    staff = {
        email: db.session.scalar(select(User).where(User.email == email))
        for email in (
            "bureau@demo.cn",
            "bureau.staff@demo.cn",
            "coop@demo.cn",
            "enterprise@demo.cn",
        )
    }
    vendors = {
        code: db.session.scalar(select(Organization).where(Organization.code == code))
        for code in VENDOR_CODES
    }
    if None in staff.values() or None in vendors.values():
        return False  # the kernel or catalog demo is not loaded
    bureau = staff["bureau@demo.cn"].memberships[0].org
    coop, enterprise = vendors["V001"], vendors["V007"]
    shippers = {coop.id: staff["coop@demo.cn"], enterprise.id: staff["enterprise@demo.cn"]}
    points = _pickup_points(staff["bureau@demo.cn"], bureau)
    citizens = _citizens()
    a1, a2 = _products(coop)
    b1, b2 = _products(enterprise)
    li, wang, chen = (citizens[e] for e in CITIZEN_ADDRESSES)
    serial = iter(range(1, 100))

    def order(buyer: User, items: dict[Product, int], delivery=None) -> Order:
        return place_order(
            buyer,
            {p.id: q for p, q in items.items()},
            delivery or _address_of(buyer),
            TOKEN.format(next(serial)),
        )

    def paid(buyer: User, items: dict[Product, int], method: str, delivery=None) -> Order:
        placed = order(buyer, items, delivery)
        complete_payment("test", start_payment(placed).reference, method=method)
        return placed

    def ship(placed: Order, vendor: Organization, carrier: str, tracking_no: str) -> None:
        ship_part(shippers[vendor.id], vendor, placed.id, carrier, tracking_no)

    station = Delivery(
        DeliveryMethod.PICKUP,
        recipient=li.name,
        phone=li.phone or "13800000000",
        pickup_point_id=points["建群村电商服务站"].id,
    )
    centre = Delivery(
        DeliveryMethod.PICKUP,
        recipient=li.name,
        phone=li.phone or "13800000000",
        pickup_point_id=points["三门坡镇电商服务中心"].id,
    )
    with _quietly():
        # 1. received and completed: both vendors shipped, the buyer confirmed
        done = paid(li, {a1: 2, b1: 1}, "wechat")
        ship(done, coop, "顺丰速运", "SF1400023851201")
        ship(done, enterprise, "中国邮政 EMS", "EM1125580326CN")
        confirm_receipt(li, done.id)
        # ... with an e-invoice asked of each vendor: the cooperative issued its own
        for part in done.shipments:
            invoice = invoices.request_invoice(
                li, done.id, part.id, invoices.InvoiceDetails("personal", li.name, "", li.email)
            )
            if part.vendor_id == coop.id:
                invoices.issue_invoice(
                    shippers[coop.id], coop, invoice.id, "24460000000012345678", _demo_pdf()
                )
        # 2. shipped, waiting for the buyer to confirm
        shipped = paid(chen, {a2: 1}, "alipay")
        ship(shipped, coop, "京东物流", "JDVA20318844102")
        # 3. paid, waiting for both vendors (collected at a village station)
        paid(li, {a1: 1, b2: 2}, "alipay", station)
        # 4. partly cancelled by a vendor: the coconuts were gone, the lychees shipped
        partly = paid(chen, {a1: 1, b1: 2}, "card", centre)
        cancel_part(
            shippers[enterprise.id], enterprise, partly.id, "台风过境，本批椰青受损，无法按时发货"
        )
        ship(partly, coop, "商家自送到服务站", "")
        # ... and the lychees arrived at the town centre (到站待取), recorded by its staff
        keeper = staff["bureau.staff@demo.cn"]
        assign_staff(keeper, bureau, centre.pickup_point_id, keeper.email)
        arrived = next(s for s in partly.shipments if s.vendor_id == coop.id)
        record_arrival(keeper, centre.pickup_point_id, arrived.id)
        # 5. refunded after sales: delivered, one box arrived damaged
        after = paid(wang, {a2: 2, b2: 1}, "wechat")
        ship(after, coop, "顺丰速运", "SF1400023851377")
        ship(after, enterprise, "中通快递", "ZT78311420566")
        confirm_receipt(wang, after.id)
        damaged = next(line for line in after.lines if line.product_id == a2.id)
        after_sales_refund(
            staff["bureau.staff@demo.cn"],
            bureau,
            after.id,
            {damaged.id: 1},
            "买家反映 1 件到货时挤压破损，已核实照片，退还该件货款",
        )
        # 6. cancelled by the buyer after paying, before shipping: refunded in full
        regret = paid(wang, {b1: 1}, "alipay")
        cancel_by_buyer(wang, regret.id, "买重了")
        # 7. never paid: the reservation expired and the order was cancelled
        lapsed = order(wang, {a1: 1})
        start_payment(lapsed)
        expire_if_due(lapsed, utcnow() + timedelta(minutes=reservation_minutes() + 1))
        # 8. waiting for payment, its stock reserved
        with _long_reservation():
            order(wang, {b2: 1, a2: 1})
    # 9. from now on the cooperative charges shipping (8 yuan, free from 99 yuan) and
    # does not send its fresh lychees to Tibet or Xinjiang: the cart shows it
    with unit_of_work():
        a1.is_fresh = True
    shipping.save_rule(staff["coop@demo.cn"], coop, 800, 9900, ["西藏自治区", "新疆维吾尔自治区"])
    return True
