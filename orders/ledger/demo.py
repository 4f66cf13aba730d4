"""Demo sales history: a few years of all four channels, loaded through the same
`import fairs` and `import sales` a bureau would use, plus a couple of refunds.

Deterministic (fixed seed), with the seasons of Hainan's produce: lychee in May to July,
wax apples in winter and spring, flowers before the Spring Festival, gift boxes of honey,
chicken and dried seafood before the Spring Festival and Mid-Autumn.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from sqlalchemy import select

from catalog.models import Category, Product
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.money import format_fen
from orders.fairs.imports import FairsImport
from orders.ledger.imports import SalesImport
from orders.ledger.models import Order
from orders.ledger.services import refund

FIRST_YEAR = 2021
SEED = 2021
REF_PREFIX = "DEMO-"

AGENCIES = ["海口市教育局", "海口市卫生健康委员会"]
STORE = "椰城惠民超市"
DISTRICT_VENUES = {
    "秀英区": [("秀英区政府广场", "秀华社区"), ("万达广场", "海秀社区")],
    "龙华区": [("金牛岭公园", "金牛社区"), ("龙华区政务中心", "城西社区")],
    "琼山区": [("府城鼓楼广场", "府城社区"), ("琼山区政府广场", "国兴社区")],
    "美兰区": [("海甸岛东坡湖", "白沙门社区"), ("日月广场", "新埠社区")],
}

# month weights (Jan..Dec) by category; anything unlisted sells evenly
SEASONS = {
    "荔枝": [0, 0, 0, 1, 8, 10, 6, 1, 0, 0, 0, 0],
    "莲雾": [6, 6, 5, 3, 1, 0, 0, 0, 0, 1, 3, 6],
    "热带水果": [2, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 2],
    "花卉": [8, 6, 2, 2, 2, 1, 1, 1, 2, 3, 3, 5],
    "鸡": [6, 4, 2, 2, 2, 2, 2, 2, 5, 3, 3, 4],
    "蜂蜜": [5, 3, 2, 2, 2, 2, 2, 2, 5, 3, 3, 4],
    "水产干货": [6, 4, 2, 2, 2, 2, 2, 2, 5, 3, 3, 4],
    "蔬菜": [3, 3, 3, 3, 2, 2, 2, 2, 3, 3, 3, 3],
}
EVEN = [3] * 12
# a busier year each year (online grew fastest)
GROWTH = {"online": 0.35, "procurement": 0.15, "counter": 0.2}
BASE_ORDERS = {"online": 22, "procurement": 3, "counter": 10}  # per month in the first year
PAYMENTS = {
    "online": ["alipay", "wechat", "card"],
    "fair": ["cash", "wechat", "alipay"],
    "counter": ["wechat", "alipay", "cash", "card"],
    "procurement": ["bank_transfer"],
}
SALES_HEADER = [
    "sale_ref",
    "channel",
    "date",
    "sku",
    "quantity",
    "unit_price",
    "fair_code",
    "buyer",
    "payment_method",
]


def _fairs(rng: random.Random, today: date) -> list[tuple]:
    """About every seven weeks, rotating through the districts; one still to come."""
    fairs = []
    day = date(FIRST_YEAR, 1, 16)
    districts = list(DISTRICT_VENUES)
    n = 0
    while day <= today + timedelta(days=40):
        district = districts[n % len(districts)]
        venue, community = rng.choice(DISTRICT_VENUES[district])
        n += 1
        name = f"{district}爱心扶贫集市（第{n}期）"
        fairs.append((f"HKJS-{day:%Y%m}-{n:02d}", name, day, venue, district, community))
        day += timedelta(days=rng.choice([42, 49, 56]))
    return fairs


def _fairs_csv(fairs: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["fair_code", "name", "date", "venue", "district", "community"])
    for code, name, day, venue, district, community in fairs:
        writer.writerow([code, name, day.isoformat(), venue, district, community])
    return out.getvalue()


def _sales_csv(rng: random.Random, products: list[tuple], fairs: list[tuple], today: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SALES_HEADER)

    def pick(month: int) -> tuple:
        weights = [SEASONS.get(category, EVEN)[month - 1] for _sku, category, _p in products]
        return rng.choices(products, weights)[0]

    def lines(month: int, count: int, quantity: tuple[int, int], discount: float = 1.0):
        chosen: dict[str, tuple] = {}
        for _ in range(count):
            sku, _category, price = pick(month)
            chosen[sku] = (sku, price)
        for sku, price in chosen.values():
            unit = max(100, round(price * discount / 50) * 50)  # to the half yuan
            yield sku, rng.randint(*quantity), format_fen(unit)

    serial = 0
    month_start = date(FIRST_YEAR, 1, 1)
    while month_start <= today:
        year_factor = month_start.year - FIRST_YEAR
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        last_day = min(next_month - timedelta(days=1), today)
        days = (last_day - month_start).days + 1
        for channel, base in BASE_ORDERS.items():
            festive = 1.5 if month_start.month in (1, 2, 9) else 1.0
            count = round(base * (1 + GROWTH[channel]) ** year_factor * festive * days / 30)
            for _ in range(count):
                serial += 1
                day = month_start + timedelta(days=rng.randrange(days))
                if channel == "procurement":
                    buyer, items = rng.choice(AGENCIES), lines(day.month, 3, (20, 120), 0.9)
                elif channel == "counter":
                    buyer, items = STORE, lines(day.month, rng.randint(1, 3), (1, 6))
                else:
                    buyer, items = "", lines(day.month, rng.choice([1, 1, 2, 3]), (1, 3))
                method = rng.choice(PAYMENTS[channel])
                ref = f"{REF_PREFIX}{channel[:2].upper()}-{day:%Y%m%d}-{serial:05d}"
                for sku, quantity, price in items:
                    writer.writerow(
                        [ref, channel, day.isoformat(), sku, quantity, price, "", buyer, method]
                    )
        month_start = next_month

    for code, _name, day, *_rest in fairs:
        if day > today:
            continue
        for _ in range(rng.randint(20, 45)):
            serial += 1
            ref = f"{REF_PREFIX}FA-{day:%Y%m%d}-{serial:05d}"
            method = rng.choice(PAYMENTS["fair"])
            for sku, quantity, price in lines(day.month, rng.choice([1, 1, 2]), (1, 4)):
                writer.writerow(
                    [ref, "fair", day.isoformat(), sku, quantity, price, code, "", method]
                )
    return out.getvalue()


def load_orders_demo() -> bool:
    """The demo sales history; loads once, after the catalog demo."""
    if db.session.scalar(select(Order.id).where(Order.external_ref.like(f"{REF_PREFIX}%"))):
        return False
    products = [
        (sku, category, price)
        for sku, category, price in db.session.execute(
            select(Product.sku, Category.name, Product.price)
            .join(Category, Category.id == Product.category_id)
            .order_by(Product.sku)
        )
    ]
    if not products:
        return False
    rng = random.Random(SEED)
    today = local_today()
    fairs = _fairs(rng, today)
    run_import(FairsImport("demo"), _fairs_csv(fairs).encode())
    run_import(SalesImport("demo"), _sales_csv(rng, products, fairs, today).encode())

    # two customers sent something back: one whole order, one box of another
    online = db.session.scalars(
        select(Order)
        .where(Order.channel == "online", Order.external_ref.like(f"{REF_PREFIX}%"))
        .order_by(Order.sale_date.desc(), Order.id)
        .limit(40)
    ).all()
    whole = next((o for o in online if len(o.lines) == 1), None)
    if whole is not None:
        line = whole.lines[0]
        refund(whole, [(line.id, line.quantity)], reason="商品运输途中损坏，整单退款", actor="demo")
    part = next((o for o in online if o is not whole and o.lines[0].quantity > 1), None)
    if part is not None:
        refund(part, [(part.lines[0].id, 1)], reason="少发一件，退一件的货款", actor="demo")
    return True
