"""Benchmark of the public catalog on PostgreSQL (a benchmark, not a test).

    .venv/bin/python bench/catalog.py [--database-url URL] [--products 10000]
                                      [--duration 10] [--connections 16] [--explain]

1. (Re)creates the database (default mp_bench_catalog on 127.0.0.1), migrates it with the
   project's Alembic history, and bulk-inserts --products products with their vendors,
   villages, households, certifications (most approved, some pending, expired or
   suspended), photos rows, price tiers and benefit links.
2. Serves the app with gunicorn (2 workers, 127.0.0.1, a free port) and, next to it, the
   minimal app in bench/minimal_app.py: the same factory and base template around static
   content, served the same way.
3. Loads each page with wrk when it is installed (else a bounded Python thread pool) and
   prints requests per second, median and p99 latency, and the ratio to the minimal page.
   Target: the list and search pages reach at least half the minimal page's throughput.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from marketplace.clock import local_today

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder would come first on sys.path and shadow the real
# `catalog` package with this module: put the project root there instead.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_catalog"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
SEARCH_TERM = "荔枝"

PRODUCT_WORDS = [
    ("荔枝", "荔枝"),
    ("莲雾", "莲雾"),
    ("走地鸡", "鸡"),
    ("蝴蝶兰", "花卉"),
    ("龙眼蜂蜜", "蜂蜜"),
    ("南美白对虾", "虾"),
    ("沉香", "南药"),
    ("菠萝", "热带水果"),
    ("香蕉", "热带水果"),
    ("丝苗米", "粮油"),
    ("花生油", "粮油"),
    ("菜心", "蔬菜"),
    ("单丛茶", "茶叶"),
    ("咸鱼干", "水产干货"),
    ("竹编篮", "手工艺品"),
]
PREFIXES = ["妃子笑", "桂味", "糯米糍", "黑金刚", "山区", "有机", "生态", "农家", "特级", "精选"]
SYLLABLES = "石岭大坡龙潭新塘白沙黄竹青山水口东湖西林南岗北围高田良口太平长安"
VENDOR_KINDS = ["农业专业合作社", "生态农业有限公司", "家庭农场"]
UNITS = ["斤", "箱", "只", "瓶", "袋", "盒"]


def _log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- database


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database (never the one the URL's server calls
    'postgres')."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.host not in ("127.0.0.1", "localhost", None):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    name = target.database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _name(rng: random.Random, suffix: str) -> str:
    return "".join(rng.sample(SYLLABLES, 2)) + suffix


def fill(url: str, products: int, seed: int = 7) -> dict:
    """Migrate and fill the database; returns ids the measurements use."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from catalog.models import (
        ALWAYS,
        BenefitLink,
        Certification,
        CertStatus,
        PriceTier,
        Product,
        ProductImage,
    )
    from catalog.products import categories, seed_categories
    from marketplace import create_app
    from marketplace.bulk import ROWS_PER_INSERT, chunks
    from marketplace.extensions import db
    from marketplace.models import District, Household, Organization, Town, Village

    rng = random.Random(seed)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    today = local_today()
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        seed_categories()
        category_ids = {c.name: c.id for c in categories()}

        def bulk(model, rows):
            for chunk in chunks(rows, ROWS_PER_INSERT):
                db.session.execute(insert(model), list(chunk))

        # geography: 8 districts x 8 towns x 12 villages
        districts = [{"id": i + 1, "name": f"{_name(rng, '区')}{i}"} for i in range(8)]
        towns, villages = [], []
        for d in districts:
            for t in range(8):
                towns.append(
                    {
                        "id": len(towns) + 1,
                        "district_id": d["id"],
                        "name": _name(rng, "镇") + str(t),
                    }
                )
        for t in towns:
            for v in range(12):
                villages.append(
                    {
                        "id": len(villages) + 1,
                        "town_id": t["id"],
                        "name": _name(rng, "村") + str(v),
                        "is_poor": v % 3 == 0,
                    }
                )
        bulk(District, districts)
        bulk(Town, towns)
        bulk(Village, villages)
        town_of = {t["id"]: t for t in towns}
        district_of = {d["id"]: d for d in districts}

        vendor_count = max(20, products // 30)
        vendors = [
            {
                "id": i + 1,
                "name": f"{_name(rng, '')}{rng.choice(VENDOR_KINDS)}{i}",
                "kind": "cooperative" if i % 3 else "enterprise",
                "status": "verified" if i % 25 else "pending",
                "code": f"V{i + 1:05d}",
            }
            for i in range(vendor_count)
        ]
        bulk(Organization, vendors)

        household_count = products * 2
        households = [
            {
                "id": i + 1,
                "code": f"BH{i + 1:07d}",
                "head_name": f"户主{i + 1}",
                "members": 1 + i % 6,
                "village_id": rng.choice(villages)["id"],
                "status": "alleviated",
                "risk_light": "green",
            }
            for i in range(household_count)
        ]
        bulk(Household, households)

        product_rows, cert_rows, image_rows, tier_rows, link_rows = [], [], [], [], []
        for i in range(products):
            pid = i + 1
            word, category = rng.choice(PRODUCT_WORDS)
            vendor = rng.choice(vendors)
            village = rng.choice(villages)
            town = town_of[village["town_id"]]
            district = district_of[town["district_id"]]
            name = f"{rng.choice(PREFIXES)}{word}{pid}号"
            description = (
                f"产自{village['name']}的{word}，由{vendor['name']}组织农户生产，"
                "带动建档立卡户增收。"
            )
            spec = f"{rng.choice([250, 500, 1000, 2500])}g/{rng.choice(UNITS)}"
            product_rows.append(
                {
                    "id": pid,
                    "vendor_id": vendor["id"],
                    "sku": f"{vendor['code']}-{pid:06d}",
                    "name": name,
                    "category_id": category_ids[category],
                    "description": description,
                    "specification": spec,
                    "unit": rng.choice(UNITS),
                    "price": rng.randrange(500, 30000, 50),
                    "origin_village_id": village["id"],
                    "shelf_life": "",
                    "min_order_qty": 1,
                    "status": "active" if i % 50 else "archived",
                    "featured": i % 97 == 0,
                    "search_text": " ".join(
                        [
                            name,
                            description,
                            spec,
                            vendor["name"],
                            village["name"],
                            town["name"],
                            district["name"],
                        ]
                    ).lower(),
                }
            )
            roll = rng.random()
            status, certified_on, valid_until = (
                CertStatus.APPROVED,
                today - timedelta(days=rng.randrange(1, 300)),
                None,
            )
            if roll < 0.03:
                status, certified_on = CertStatus.PENDING, None
            elif roll < 0.08:
                valid_until = today - timedelta(days=rng.randrange(1, 60))  # expired
                certified_on = valid_until - timedelta(days=365)
            elif roll < 0.10:
                status = CertStatus.SUSPENDED
            if certified_on is not None and valid_until is None:
                valid_until = certified_on + timedelta(days=365)
            cert_rows.append(
                {
                    "id": pid,
                    "product_id": pid,
                    "status": status,
                    "benefit_mode": "purchase",
                    "expected_annual_value": 1_000_000,
                    "note": "",
                    "certificate_no": None if status == CertStatus.PENDING else f"FP-B-{pid:06d}",
                    "certified_on": certified_on,
                    "valid_until": valid_until,
                }
            )
            image_rows.append(
                {
                    "product_id": pid,
                    "filename": f"{pid:032x}.jpg",
                    "thumb_filename": f"{pid:032x}_t.jpg",
                    "width": 800,
                    "height": 600,
                    "position": 0,
                }
            )
            if i % 4 == 0:
                tier_rows.append({"product_id": pid, "min_qty": 10, "unit_price": 400})
            for household in rng.sample(households, 5):
                link_rows.append(
                    {
                        "product_id": pid,
                        "household_id": household["id"],
                        "weight": Decimal(rng.randrange(1, 5)),
                        "valid_from": ALWAYS if status == CertStatus.PENDING else certified_on,
                        "certification_id": pid,
                    }
                )
        bulk(Product, product_rows)
        bulk(Certification, cert_rows)
        bulk(ProductImage, image_rows)
        bulk(PriceTier, tier_rows)
        bulk(BenefitLink, link_rows)
        for table in (
            "districts",
            "towns",
            "villages",
            "organizations",
            "households",
            "products",
            "certifications",
            "product_images",
            "price_tiers",
            "benefit_links",
        ):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        from catalog.sellability import is_sellable

        product_id = next(row["id"] for row in product_rows if is_sellable(row["id"], today))
        _log(
            f"filled {products} products, {len(link_rows)} benefit links, "
            f"{len(households)} households, "
            f"{len(vendors)} vendors in {time.perf_counter() - started:.1f}s"
        )
    return {"product_id": product_id}


# ---------------------------------------------------------------- insight


def query_report(url: str, paths: dict[str, str], explain: bool) -> None:
    """How many statements each page runs (in process), and optionally EXPLAIN ANALYZE
    of the list and search queries."""
    from sqlalchemy import event, func, select

    from catalog import public, sellability
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SERVER_NAME": "127.0.0.1"}
    )
    with app.app_context():
        counted: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: counted.append(a[2]))
        client = app.test_client()
        for label, path in paths.items():
            counted.clear()
            status = client.get(path).status_code
            _log(f"  {label:<10} {path:<40} HTTP {status}, {len(counted)} SQL statements")
        if explain:
            day = sellability.today()
            for label, filters in (
                ("list", public.CatalogFilters()),
                ("search", public.CatalogFilters(q=SEARCH_TERM)),
            ):
                stmt = public.public_products(day, filters)
                count = select(func.count()).select_from(stmt.order_by(None).subquery())
                for what, query in (("page", stmt.limit(20)), ("count", count)):
                    sql = query.compile(db.engine, compile_kwargs={"literal_binds": True})
                    plan = db.session.execute(db.text(f"EXPLAIN ANALYZE {sql}")).scalars().all()
                    _log(f"\n--- EXPLAIN ANALYZE {label} {what}")
                    _log("\n".join(plan))


# ---------------------------------------------------------------- serving


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve(target: str, url: str, probe: str) -> Server:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret", APP_ENV="development")
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        # no worker recycling inside a measurement: a recycled worker imports the app
        # again (seconds of CPU, gunicorn.conf.py), which would be timed as page cost
        [
            GUNICORN,
            *("-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"),
            *("--max-requests", "0", target),
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + probe, timeout=2) as response:
                if response.status == 200:
                    return Server(process, base)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn {target} did not come up")


# ---------------------------------------------------------------- load


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_wrk(
    url: str, duration: int, connections: int, extra: list[str] | None = None, env=None
) -> Result:
    """wrk against ``url``; ``extra`` options (a script, headers) and ``env`` for it."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *(extra or []), url],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    if socket_errors:
        _log("    wrk: " + socket_errors.group(0))
    return Result(
        rps, _ms(*p50.groups()), _ms(*p99.groups()), int(errors.group(1)) if errors else 0
    )


def load_threads(url: str, requests: int, connections: int) -> Result:
    """Fallback without wrk: a fixed number of requests from a fixed thread pool."""

    def one(_):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
                ok = response.status == 200
        except OSError:
            ok = False
        return time.perf_counter() - started, ok

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        results = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    return Result(
        rps=requests / elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        errors=sum(not r[1] for r in results),
    )


def measure(url: str, args) -> Result:
    for _ in range(20):  # warm up both workers
        urllib.request.urlopen(url, timeout=30).read()
    if shutil.which("wrk") and not args.no_wrk:
        return load_wrk(url, args.duration, args.connections)
    return load_threads(url, args.requests, args.connections)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per page (wrk)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000, help="requests per page (no wrk)")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python thread pool")
    parser.add_argument("--reuse", action="store_true", help="keep the filled database")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    args = parser.parse_args()

    url = args.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if args.reuse:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            product_id = conn.execute(
                text(
                    "SELECT p.id FROM products p JOIN certifications c ON c.product_id = p.id "
                    "JOIN organizations o ON o.id = p.vendor_id WHERE p.status = 'active' "
                    "AND o.status = 'verified' AND c.status = 'approved' "
                    "AND current_date BETWEEN c.certified_on AND c.valid_until "
                    "ORDER BY p.id LIMIT 1"
                )
            ).scalar_one()
        engine.dispose()
        ids = {"product_id": product_id}
    else:
        recreate_database(url)
        ids = fill(url, args.products)

    paths = {
        "minimal": "/bench/minimal",
        "list": "/products",
        "search": "/products?q=" + urllib.parse.quote(SEARCH_TERM),
        "product": f"/products/{ids['product_id']}",
    }
    _log("queries per page (in process):")
    query_report(url, {k: v for k, v in paths.items() if k != "minimal"}, args.explain)

    tool = "wrk" if shutil.which("wrk") and not args.no_wrk else "thread pool"
    _log(f"\nload: {tool}, {args.connections} connections, gunicorn 2 workers each, 127.0.0.1")
    minimal = serve("bench.minimal_app:app", url, "/bench/minimal")
    app = serve("wsgi:app", url, "/healthz")
    results: dict[str, Result] = {}
    try:
        results["minimal"] = measure(minimal.base + paths["minimal"], args)
        for label in ("list", "search", "product"):
            results[label] = measure(app.base + paths[label], args)
    finally:
        minimal.stop()
        app.stop()

    base = results["minimal"].rps
    _log(
        f"\n{'page':<10}{'path':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'errors':>8}"
    )
    for label, result in results.items():
        _log(
            f"{label:<10}{paths[label]:<34}{result.rps:>9.1f}{result.p50_ms:>9.1f}"
            f"{result.p99_ms:>9.1f}{result.rps / base:>8.2f}{result.errors:>8}"
        )
    missed = [label for label in ("list", "search") if results[label].rps < base / 2]
    _log(
        "\ntarget (list and search >= 0.5 x minimal): "
        + ("met" if not missed else "MISSED for " + ", ".join(missed))
    )


if __name__ == "__main__":
    main()
