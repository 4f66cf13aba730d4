"""Load test of a consumption-month day on PostgreSQL under gunicorn (a benchmark, not a
test).

    .venv/bin/python bench/load.py [--database-url URL] [--seconds 180] [--clients 24]
                                   [--workers 4] [--products 40] [--units 400]

1. (Re)creates the database (default mp_bench_load on 127.0.0.1) with bench/checkout.py's
   filler: --products certified products with --units units each, linked to registered
   households, one buyer with a saved address per client; plus one vendor staff member,
   an agency buyer and a bureau reviewer.
2. Serves the real app (wsgi:app) under gunicorn (--workers, 127.0.0.1, a free port; no
   Stripe keys: the local test gateway takes the payments).
3. --clients threads act for --seconds, each request drawn at random:
   - 80% browsing with distinct URLs: the product list (pages, sorts), searches with
     terms from the catalogue, product pages, vendor pages, the home page, /impact;
   - 15% buying: add 1-2 units to the cart, check out with the saved address, pay
     (each step a real form with its CSRF and one-time tokens);
   - 5% staff: the vendor's dashboard, orders and stock; the agency's procurement
     catalogue; the bureau's reports and orders.
4. Prints throughput, p50/p95/p99 per page type and the errors (any 5xx, or a request
   that failed; there must be none), with the machine's load average before and after.
5. Verifies the ledger: the units sold equal the stock consumed, the attribution of every
   paid order equals its product amount, no order was paid twice, nothing negative.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.checkout import (  # noqa: E402
    PASSWORD,
    Buyer,
    Refused,
    Stats,
    bench_app,
    fill,
    percentile,
    recreate_database,
)
from tests.integration.live_server import LiveServer  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_load"
STAFF = {
    "vendor": ["/vendor", "/vendor/orders", "/vendor/stock", "/vendor/products"],
    "agency": ["/procurement", "/procurement/catalogue"],
    "bureau": ["/bureau/reports", "/bureau/orders", "/bureau/certifications", "/impact"],
}
SEARCH_TERMS = ["基准", "测试", "产品", "合作社", "荔枝", "谭文村", "三门坡", "蜂蜜"]


def _log(message: str) -> None:
    print(message, flush=True)


def add_staff(url: str, product_ids: list[int]) -> dict[str, str]:
    """A vendor staff member (of the first product's vendor), an agency buyer and a
    bureau reviewer, all with the benchmark password."""
    from catalog.models import Product
    from marketplace.accounts.services import hash_password
    from marketplace.extensions import db
    from marketplace.models import Membership, Organization, OrgKind, OrgStatus, Role, User

    app = bench_app(url)
    with app.app_context():
        password_hash = hash_password(PASSWORD)
        vendor_id = db.session.get(Product, product_ids[0]).vendor_id
        agency = Organization(name="海口市某局", kind=OrgKind.AGENCY, status=OrgStatus.VERIFIED)
        bureau = Organization(
            name="海口市乡村振兴局", kind=OrgKind.BUREAU, status=OrgStatus.VERIFIED
        )
        db.session.add_all([agency, bureau])
        db.session.flush()
        emails = {}
        for kind, org_id, role in (
            ("vendor", vendor_id, Role.STAFF),
            ("agency", agency.id, Role.BUYER),
            ("bureau", bureau.id, Role.ADMIN),
        ):
            user = User(
                email=f"load-{kind}@example.cn", name=f"压测{kind}", password_hash=password_hash
            )
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(user_id=user.id, org_id=org_id, role=role))
            emails[kind] = user.email
        db.session.commit()
    return emails


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    purchases: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float) -> None:
        with self.lock:
            self.ms[kind].append(ms)
            self.requests += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Visitor:
    """One client thread: a logged-in buyer who mostly browses, sometimes buys, and a
    staff session for the 5% of office pages."""

    def __init__(self, base, email, staff_email, product_ids, vendor_ids, timings, seed):
        self.buyer = Buyer(base, email, Stats(), seed)
        self.staff = Buyer(base, staff_email, Stats(), seed + 10_000)
        self.staff_kind = next(k for k in STAFF if staff_email == f"load-{k}@example.cn")
        self.base, self.timings = base, timings
        self.products, self.vendors = product_ids, vendor_ids
        self.rng = random.Random(seed)

    def get(self, session: Buyer, kind: str, path: str) -> None:
        started = time.perf_counter()
        try:
            response = session.session.get(self.base + path, timeout=30, allow_redirects=False)
        except Exception as exc:  # a refused or timed-out request is an error too
            self.timings.error(f"{kind} {path}: {exc!r}")
            return
        self.timings.add(kind, (time.perf_counter() - started) * 1000)
        if response.status_code != 200:  # every page drawn exists and is the user's own
            self.timings.error(f"{kind} {path}: HTTP {response.status_code}")

    def browse(self) -> None:
        rng = self.rng
        choice = rng.random()
        if choice < 0.30:
            sort = rng.choice(["", "&sort=price_asc", "&sort=price_desc", "&sort=new"])
            self.get(
                self.buyer, "list", f"/products?page={rng.randint(1, 3)}{sort}&r={rng.random()}"
            )
        elif choice < 0.50:
            term = rng.choice(SEARCH_TERMS) + rng.choice(["", str(rng.randint(1, 40))])
            self.get(self.buyer, "search", f"/products?q={term}")
        elif choice < 0.75:
            self.get(self.buyer, "product", f"/products/{rng.choice(self.products)}")
        elif choice < 0.85:
            self.get(self.buyer, "vendor", f"/vendors/{rng.choice(self.vendors)}")
        elif choice < 0.93:
            self.get(self.buyer, "home", f"/?r={rng.random()}")
        else:
            self.get(self.buyer, "impact", f"/impact?r={rng.random()}")

    def buy(self) -> None:
        buyer = self.buyer
        buyer.timings.clear()
        started = time.perf_counter()
        try:
            buyer.buy(self.rng.choice(self.products), self.rng.choice([1, 1, 2]))
        except Refused:
            outcome = "refused"
        except Exception as exc:
            outcome = "error"
            self.timings.error(f"purchase: {exc!r}")
        else:
            outcome = "paid"
        with self.timings.lock:
            self.timings.purchases[outcome] += 1
            self.timings.requests += len(buyer.timings)
            if outcome == "paid":
                self.timings.ms["purchase (4 steps)"].append((time.perf_counter() - started) * 1000)

    def office(self) -> None:
        path = self.rng.choice(STAFF[self.staff_kind])
        self.get(self.staff, f"staff:{self.staff_kind}", path)

    def run(self, deadline: float) -> None:
        try:
            self.buyer.login()
            self.staff.login()
        except Exception as exc:
            self.timings.error(f"log-in: {exc!r}")
            return
        while time.time() < deadline:
            draw = self.rng.random()
            if draw < 0.80:
                self.browse()
            elif draw < 0.95:
                self.buy()
            else:
                self.office()


def verify(url: str, product_ids: list[int], units: int) -> bool:
    """The ledger after the day: stock consumed = units sold (a sale taken from stock
    twice would break it); each paid order's attribution = its product amount; one
    payment per order; nothing negative; the stock movements add up to the levels."""
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from orders.ledger.models import PAID_STATUSES, Attribution, Order, OrderLine
    from orders.shop.models import Payment, PaymentStatus
    from vendors.services import audit

    app = bench_app(url)
    ok = True
    with app.app_context():
        sold = db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
            .join(Order)
            .where(Order.status.in_(PAID_STATUSES))
        )
        levels = audit()
        consumed = units * len(product_ids) - levels.on_hand
        product_amount = dict(
            db.session.execute(
                select(OrderLine.order_id, func.sum(OrderLine.amount))
                .join(Order)
                .where(Order.status.in_(PAID_STATUSES))
                .group_by(OrderLine.order_id)
            ).all()
        )
        attributed = dict(
            db.session.execute(
                select(Attribution.order_id, func.sum(Attribution.amount)).group_by(
                    Attribution.order_id
                )
            ).all()
        )
        mismatched = [o for o, amount in product_amount.items() if attributed.get(o) != amount]
        unpaid_attributed = set(attributed) - set(product_amount)
        paid_twice = db.session.scalar(
            select(func.count()).select_from(
                select(Payment.order_id)
                .where(Payment.status == PaymentStatus.SUCCEEDED)
                .group_by(Payment.order_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        checks = [
            (f"units sold {sold} == stock consumed {consumed}", sold == consumed),
            ("no stock level ever below zero", levels.lowest >= 0),
            ("stock movements add up to the levels", levels.unexplained == 0),
            (
                f"attribution == product amount for all {len(product_amount)} paid orders",
                not mismatched,
            ),
            ("no attribution without a payment", not unpaid_attributed),
            (f"orders paid twice: {paid_twice}", paid_twice == 0),
        ]
        for label, passed in checks:
            _log(f"  [{'ok' if passed else 'FAIL'}] {label}")
            ok = ok and passed
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--units", type=int, default=400)
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.workers <= 32:
        raise SystemExit("--clients 1..200, --workers 1..32")
    if args.products * args.units > 50_000:
        raise SystemExit("keep it bounded: at most 50,000 units in all")

    recreate_database(args.database_url)
    data = fill(args.database_url, args.products, args.units, args.clients)
    staff = add_staff(args.database_url, data["products"])
    app = bench_app(args.database_url)
    with app.app_context():
        from sqlalchemy import select

        from catalog.models import Product
        from marketplace.extensions import db

        vendor_ids = sorted(set(db.session.scalars(select(Product.vendor_id))))

    log_path = Path(tempfile.gettempdir()) / "bench_load_gunicorn.log"
    server = LiveServer(
        args.database_url,
        workers=args.workers,
        env={"SECRET_KEY": "bench-secret"},
        log_path=log_path,
    ).start()
    _log(f"gunicorn: {args.workers} workers on {server.base_url} (log: {log_path})")
    load_before = os.getloadavg()
    timings = Timings()
    kinds = list(staff)
    visitors = [
        Visitor(
            server.base_url,
            email,
            staff[kinds[n % len(kinds)]],
            data["products"],
            vendor_ids,
            timings,
            seed=n,
        )
        for n, email in enumerate(data["emails"])
    ]
    try:
        deadline = time.time() + args.seconds
        threads = [threading.Thread(target=v.run, args=(deadline,)) for v in visitors]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    load_after = os.getloadavg()

    _log(
        f"\n{args.clients} clients for {elapsed:.0f}s on {os.cpu_count()} cores; load average "
        f"before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)"
    )
    _log(f"  requests: {timings.requests} ({timings.requests / elapsed:.1f}/s)")
    _log(f"  purchases: {dict(timings.purchases)}")
    _log(f"  {'page type':<22}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind in sorted(timings.ms):
        values = timings.ms[kind]
        _log(
            f"  {kind:<22}{len(values):>7}{percentile(values, 50):>9.0f}"
            f"{percentile(values, 95):>9.0f}{percentile(values, 99):>9.0f}"
        )
    _log(f"  errors: {len(timings.errors)}")
    for message in timings.errors[:10]:
        _log(f"    {message}")
    _log("\nchecks against the database:")
    ok = verify(args.database_url, data["products"], args.units)
    return 0 if ok and not timings.errors else 1


if __name__ == "__main__":
    sys.exit(main())
