"""Demo fairs and counters, made through the same services people use: the organizer's
fair open today where the demo cooperative (coop@demo.cn) sells, a fair next week with
stall applications waiting, and the retailer's two stores whose counters hold the
vendors' goods and report weekly. Past fairs and their sales come from the ledger demo's
import; the organizer is given them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from catalog.models import Product
from catalog.sellability import unsellable_reason
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work
from orders.fairs import counters, fairs, stalls
from orders.fairs.models import Fair, Store
from vendors import stock

ORGANIZER = "fair@demo.cn"
RETAILER = "counter@demo.cn"
COOP = "coop@demo.cn"
ENTERPRISE = "enterprise@demo.cn"
STORES = [
    ("椰城惠民超市国贸店", "龙华区国贸大道 28 号", "龙华区"),
    ("椰城惠民超市府城店", "琼山区府城大道 66 号", "琼山区"),
]


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _org(user: User) -> Organization:
    return user.memberships[0].org


def _stocked(vendor: Organization, minimum: int, day) -> list[Product]:
    """The vendor's products sellable on ``day`` with at least ``minimum`` units."""
    return [
        p
        for p in db.session.scalars(
            select(Product).where(Product.vendor_id == vendor.id).order_by(Product.sku)
        )
        if unsellable_reason(p, day) is None and stock.available(p.id) >= minimum
    ]


def load_fairs_demo() -> bool:
    """Loads once, after the ledger's and the shop's demo."""
    if db.session.scalar(select(Store.id).limit(1)) is not None:
        return False
    boss, retailer_user = _user(ORGANIZER), _user(RETAILER)
    coop_user, enterprise_user = _user(COOP), _user(ENTERPRISE)
    if None in (boss, retailer_user, coop_user, enterprise_user):
        return False
    organizer, retailer = _org(boss), _org(retailer_user)
    coop, enterprise = _org(coop_user), _org(enterprise_user)
    today = local_today()
    with unit_of_work():
        db.session.execute(
            update(Fair).where(Fair.organizer_id.is_(None)).values(organizer_id=organizer.id)
        )
        # today's fair, open, the cooperative's stall stocked and a few sales made
        fair = fairs.plan_fair(
            boss,
            organizer,
            fairs.FairPlan(
                "万绿园爱心扶贫集市",
                today,
                "万绿园南门广场",
                "龙华区",
                "滨海社区",
                None,
                None,
                30,
            ),
        )
        for user, vendor, name in (
            (coop_user, coop, "椰乡合作社摊位"),
            (enterprise_user, enterprise, "企业特产摊位"),
        ):
            stall = fairs.apply_for_stall(user, vendor, fair.id, name)
            fairs.admit_stall(boss, organizer, stall.id)
            for product in _stocked(vendor, 12, today)[:4]:
                stalls.move_to_stall(user, vendor, fair.id, product.id, 10)
        fairs.open_fair(boss, organizer, fair.id)
        place = fairs.stall_place(fairs.vendor_stall(coop, fair.id))
        at_stall = [p for p in _stocked(coop, 0, today) if stock.available(p.id, place) >= 3]
        methods = ("cash", "wechat", "alipay")
        for n, (product, method) in enumerate(zip(at_stall[:3], methods, strict=False)):
            stalls.record_stall_sale(
                coop_user,
                coop,
                fair.id,
                f"demo-stall-sale-{n:04d}",
                [stalls.SaleLine(product.id, 1 + n)],
                method,
            )
        # next week's fair: one vendor admitted, one waiting
        later = fairs.plan_fair(
            boss,
            organizer,
            fairs.FairPlan(
                "府城鼓楼爱心扶贫集市",
                today + timedelta(days=7),
                "府城鼓楼广场",
                "琼山区",
                "府城社区",
                None,
                None,
                24,
            ),
        )
        admitted = fairs.apply_for_stall(enterprise_user, enterprise, later.id, "企业特产摊位")
        fairs.admit_stall(boss, organizer, admitted.id)
        fairs.apply_for_stall(coop_user, coop, later.id, "椰乡合作社摊位", "带荔枝干和蜂蜜")
        # two stores with counters: goods placed, the last three weeks reported
        for name, address, district in STORES:
            store = counters.register_store(retailer_user, retailer, name, address, district)
            for user, vendor in ((coop_user, coop), (enterprise_user, enterprise)):
                products = _stocked(vendor, 20, today)[:2]
                for product in products:
                    counters.place_at_counter(user, vendor, store.id, product.id, 12)
                monday = counters.week_start(today) - timedelta(weeks=3)
                for week in range(3):
                    start = monday + timedelta(weeks=week)
                    lines = [
                        counters.ReportLine(p.id, 1 + week, p.price * (1 + week)) for p in products
                    ]
                    if lines:
                        counters.report_counter_sales(
                            retailer_user,
                            retailer,
                            store.id,
                            vendor.id,
                            start,
                            start + timedelta(days=6),
                            lines,
                        )
    return True
