"""Benchmark of online checkout on PostgreSQL under gunicorn (a benchmark, not a test).

    .venv/bin/python bench/checkout.py [--database-url URL] [--products 3] [--units 200]
                                       [--clients 24] [--workers 4] [--max-seconds 180]

1. (Re)creates the database (default mp_bench_checkout on 127.0.0.1), migrates it with the
   project's Alembic history, and adds --products certified products (each with benefit
   links to registered households) with --units units in stock each, and one user per
   client with a saved default delivery address.
2. Serves the real app (wsgi:app) with gunicorn (--workers, 127.0.0.1, a free port), with
   no Stripe keys, so payments go through the local test gateway.
3. --clients threads, each with its own requests.Session logged in as its own user, buy
   as a person does, through the real forms (the CSRF tokens, the one-time checkout token
   and the signed test-payment token are read from the pages): add 1-3 units of a
   product to the cart, open the checkout, place the order with the saved address, open
   the payment page and press 支付成功, see the paid order. They go on until every
   product is sold out (or --max-seconds passes).
4. Prints paid orders per second, p50/p99 latency of a whole purchase and of each step,
   and checks in the database that the units sold equal the starting stock exactly,
   nothing is left reserved, and the stock movement ledger adds up to the levels.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from marketplace.clock import local_today

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder would come first on sys.path: put the project root
# there instead, so `catalog`, `orders` and friends are the real packages.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# the live-server harness of the HTTP race tests: gunicorn on a free port, form fields
from tests.integration.live_server import LiveServer, inputs, value  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_checkout"
PASSWORD = "bench-password-1"
HOST = "127.0.0.1"


def _log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- database


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database (only on 127.0.0.1, never a system one)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.host not in (HOST, "localhost", None):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    name = target.database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def bench_app(url: str):
    from marketplace import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            # cheap password hashes: the benchmark measures checkout, not log-in
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )


def fill(url: str, products: int, units: int, clients: int) -> dict:
    """Migrate and fill the database; returns the product ids and the users' e-mails."""
    from flask_migrate import upgrade

    from catalog.models import ALWAYS, BenefitLink, Certification, CertStatus, Product
    from catalog.products import categories, seed_categories
    from marketplace.accounts.services import hash_password
    from marketplace.extensions import db
    from marketplace.models import (
        Address,
        District,
        Household,
        Organization,
        OrgKind,
        OrgStatus,
        Town,
        User,
        Village,
    )
    from vendors import stock

    app = bench_app(url)
    today = local_today()
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        seed_categories()
        category = categories()[0]
        town = Town(name="三门坡镇", district=District(name="琼山区"))
        village = Village(name="谭文村", town=town, is_poor=True)
        households = [
            Household(
                code=f"BENCH{n:04d}",
                head_name=f"户主{n}",
                members=1 + n % 5,
                village=village,
                status="alleviated",
                risk_light="green",
            )
            for n in range(12)
        ]
        db.session.add_all(households)
        product_ids = []
        for n in range(products):
            vendor = Organization(
                name=f"基准测试合作社{n + 1}", kind=OrgKind.COOPERATIVE, status=OrgStatus.VERIFIED
            )
            product = Product(
                vendor=vendor,
                sku=f"BENCH-{n + 1:03d}",
                name=f"基准测试产品{n + 1}",
                category_id=category.id,
                unit="箱",
                price=2500 + 1000 * n,
                origin_village=village,
            )
            db.session.add(product)
            db.session.flush()
            db.session.add(
                Certification(
                    product_id=product.id,
                    status=CertStatus.APPROVED,
                    benefit_mode="purchase",
                    certificate_no=f"FP-BENCH-{n + 1:03d}",
                    certified_on=today - timedelta(days=30),
                    valid_until=today + timedelta(days=335),
                )
            )
            for k, household in enumerate(households[n::2][:4]):
                db.session.add(
                    BenefitLink(
                        product_id=product.id,
                        household=household,
                        weight=Decimal(1 + k),
                        valid_from=ALWAYS,
                    )
                )
            product_ids.append(product.id)
        password_hash = hash_password(PASSWORD)
        emails = [f"bench{n:03d}@example.cn" for n in range(clients)]
        for n, email in enumerate(emails):
            user = User(email=email, name=f"压测买家{n}", password_hash=password_hash)
            user.addresses.append(
                Address(
                    recipient=f"压测买家{n}",
                    phone=f"138{n:08d}",
                    province="海南省",
                    city="海口市",
                    district="龙华区",
                    detail=f"滨海大道{n + 1}号",
                    is_default=True,
                )
            )
            db.session.add(user)
        db.session.commit()
        stock.receive([stock.Goods(p, units) for p in product_ids], stock.Ref("bench"))
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        _log(
            f"filled {products} products x {units} units, {clients} buyers "
            f"in {time.perf_counter() - started:.1f}s"
        )
    return {"products": product_ids, "emails": emails}


def verify(url: str, product_ids: list[int], units: int) -> bool:
    """Units sold (paid order lines) equal the starting stock; nothing reserved or
    negative; each level equals the sum of its movements."""
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from orders.ledger.models import PAID_STATUSES, Attribution, Order, OrderLine, OrderStatus
    from vendors.services import audit

    app = bench_app(url)
    ok = True
    with app.app_context():
        sold = db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order)
            .where(Order.status.in_(PAID_STATUSES))
        )
        statuses = dict(
            db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all()
        )
        levels = audit()
        paid_total = db.session.scalar(
            select(func.coalesce(func.sum(Order.total), 0)).where(Order.status.in_(PAID_STATUSES))
        )
        attributed = db.session.scalar(select(func.coalesce(func.sum(Attribution.amount), 0)))
        starting = units * len(product_ids)
        checks = [
            (f"units sold {sold} == starting stock {starting}", sold == starting),
            (
                f"on hand left {levels.on_hand}, reserved left {levels.reserved}",
                (levels.on_hand, levels.reserved) == (0, 0),
            ),
            ("no level ever below zero", levels.lowest >= 0),
            ("movement ledger sums == levels", levels.unexplained == 0),
            (f"attributed {attributed} fen == paid {paid_total} fen", attributed == paid_total),
            (
                f"orders by status {statuses}",
                statuses.get(OrderStatus.PENDING_PAYMENT, 0) == 0,
            ),
        ]
        for label, passed in checks:
            _log(f"  [{'ok' if passed else 'FAIL'}] {label}")
            ok = ok and passed
    return ok


# ---------------------------------------------------------------- the buyers


class Refused(Exception):
    """The shop said no (sold out, not enough stock)."""


@dataclass
class Stats:
    orders: int = 0
    units: int = 0
    purchase_ms: list[float] = field(default_factory=list)
    step_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Buyer:
    def __init__(self, base: str, email: str, stats: Stats, seed: int):
        import requests

        self.base, self.email, self.stats = base, email, stats
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies: 127.0.0.1 only
        self.rng = random.Random(seed)
        self.timings: list[tuple[str, float]] = []

    def _call(self, step: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        self.timings.append((step, (time.perf_counter() - started) * 1000))
        if response.status_code >= 500:
            raise RuntimeError(f"{step}: HTTP {response.status_code}")
        return response

    def login(self) -> None:
        page = self._call("login_form", "GET", "/login").text
        response = self._call(
            "login",
            "POST",
            "/login",
            data={
                "email": self.email,
                "password": PASSWORD,
                "csrf_token": value(page, "csrf_token"),
            },
        )
        self.csrf = value(response.text, "csrf_token")
        if "退出登录" not in response.text:
            raise RuntimeError(f"{self.email} could not log in")
        self.timings.clear()

    def buy(self, product_id: int, quantity: int) -> None:
        """One purchase; ``Refused`` when the product has not that many units left."""
        cart = self._call(
            "cart_add",
            "POST",
            "/cart/add",
            data={
                "product_id": product_id,
                "quantity": quantity,
                "next": "/cart",
                "csrf_token": self.csrf,
            },
        ).text
        if "已加入购物车" not in cart:
            raise Refused()
        checkout = self._call("checkout_form", "GET", "/checkout")
        if "/checkout" not in checkout.url:  # back to the cart: something ran out meanwhile
            self._empty_cart(product_id)
            raise Refused()
        page = checkout.text
        address = next(a for a in inputs(page, "address_id") if a["checked"])["value"]
        placed = self._call(
            "place_order",
            "POST",
            "/checkout",
            data={
                "csrf_token": value(page, "csrf_token"),
                "token": value(page, "token"),
                "delivery_method": "address",
                "address_id": address,
            },
        )
        match = re.search(r"/orders/(\d+)/pay$", placed.url)
        if match is None:  # out of stock at checkout: the cart stays as it was
            self._empty_cart(product_id)
            raise Refused()
        pay_page = placed.text
        paid = self._call(
            "pay_test",
            "POST",
            f"/orders/{match.group(1)}/pay/test",
            data={
                "csrf_token": value(pay_page, "csrf_token"),
                "token": value(pay_page, "token"),
                "outcome": "success",
            },
        )
        if "付款成功" not in paid.text:
            raise RuntimeError(f"order {match.group(1)} was not paid")

    def _empty_cart(self, product_id: int) -> None:
        self._call(
            "cart_remove",
            "POST",
            "/cart/remove",
            data={"product_id": product_id, "csrf_token": self.csrf},
        )

    def run(self, product_ids: list[int], deadline: float) -> None:
        try:
            self.login()
        except Exception as exc:  # reported at the end
            with self.stats.lock:
                self.stats.errors.append(f"{self.email}: {exc!r}")
            return
        open_products = list(product_ids)
        while open_products and time.time() < deadline:
            product_id = self.rng.choice(open_products)
            quantity = self.rng.choice([1, 1, 2, 3])
            self.timings.clear()
            started = time.perf_counter()
            try:
                self.buy(product_id, quantity)
            except Refused:
                outcome = "refused"
                if quantity == 1:  # no single unit left: sold out for good
                    open_products.remove(product_id)
            except Exception as exc:
                outcome = "error"
                with self.stats.lock:
                    self.stats.errors.append(f"{self.email}: {exc!r}")
                if len(self.stats.errors) > 20:
                    return
            else:
                outcome = "paid"
            elapsed = (time.perf_counter() - started) * 1000
            with self.stats.lock:
                self.stats.outcomes[outcome] += 1
                for step, ms in self.timings:
                    self.stats.step_ms[step].append(ms)
                if outcome == "paid":
                    self.stats.orders += 1
                    self.stats.units += quantity
                    self.stats.purchase_ms.append(elapsed)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--products", type=int, default=3)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=180)
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.workers <= 16:
        raise SystemExit("--clients 1..200, --workers 1..16")
    if args.products * args.units > 20_000:
        raise SystemExit("keep it bounded: at most 20,000 units in all")

    recreate_database(args.database_url)
    data = fill(args.database_url, args.products, args.units, args.clients)
    log_path = Path(tempfile.gettempdir()) / "bench_checkout_gunicorn.log"
    server = LiveServer(
        args.database_url,
        workers=args.workers,
        env={"SECRET_KEY": "bench-secret"},
        log_path=log_path,
    ).start()
    base = server.base_url
    _log(f"gunicorn: {args.workers} workers on {base} (log: {log_path})")
    stats = Stats()
    try:
        deadline = time.time() + args.max_seconds
        buyers = [Buyer(base, email, stats, seed=n) for n, email in enumerate(data["emails"])]
        threads = [
            threading.Thread(target=b.run, args=(data["products"], deadline)) for b in buyers
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.max_seconds + 60)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()

    _log(
        f"\n{args.clients} clients bought {stats.units} units in {stats.orders} paid orders "
        f"in {elapsed:.1f}s ({dict(stats.outcomes)})"
    )
    _log(f"  paid orders per second: {stats.orders / elapsed:.1f}")
    _log(
        f"  whole purchase (add to cart .. paid, 4 requests + redirects): "
        f"p50 {percentile(stats.purchase_ms, 50):.0f} ms, "
        f"p99 {percentile(stats.purchase_ms, 99):.0f} ms"
    )
    for step, values in stats.step_ms.items():
        _log(
            f"  {step:<14} n={len(values):<6} p50 {percentile(values, 50):6.1f} ms   "
            f"p99 {percentile(values, 99):6.1f} ms"
        )
    if stats.errors:
        _log(f"  {len(stats.errors)} errors, first: {stats.errors[:3]}")
    _log("\nchecks against the database:")
    ok = verify(args.database_url, data["products"], args.units) and not stats.errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
