"""Benchmark of the pages real traffic hits, with distinct URLs (a benchmark, not a test).

    .venv/bin/python bench/pages.py [--database-url URL] [--products 10000]
                                    [--households 20000] [--links 50000] [--sales 20000]
                                    [--duration 6] [--connections 8] [--reuse]

1. (Re)creates the database (default mp_bench_pages on 127.0.0.1), migrates it, and loads
   a catalogue through the import machinery the `flask import ...` commands run
   (households, vendors, products with stock, benefit links, sales), timing each import.
2. Serves, each with gunicorn (2 sync workers, 127.0.0.1, a free port): a bare Flask page
   (bench/bare_app.py: a 24-item Jinja list, no database, no extension), the app's own
   static page (bench/minimal_app.py: the app's middleware and base template, no query
   of its own), the app, and the app with the list's page cache off
   (bench/nocache_app.py: what a list page costs on a miss, page 1 against page 400).
   Times the first request to the home page and the list right after the imports.
3. Loads each page with wrk (a Lua script picks a random path per request from a list:
   random query strings, pages, search terms taken from the catalogue, product and vendor
   ids) and prints req/s, p50, p99 and the ratio to the bare page, with the machine's load
   average. Rows served from the page cache are labelled as cached: the same-URL list
   (bench/catalog.py's figure) and the list with only a ?ref= share parameter varying
   (the list ignores it). The other list rows vary what the list reads (sort, category,
   district, page). Product pages are measured on sellable ids, and on unsellable ids in
   a row of their own (404 for a product never public, counted as non-2xx).
   --only takes row labels separated by commas.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, bench/ would come first on sys.path and shadow the `catalog` package
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.catalog import (  # noqa: E402
    PREFIXES,
    PRODUCT_WORDS,
    UNITS,
    Result,
    load_wrk,
    recreate_database,
    serve,
)
from bench.imports import households_csv, vendors_csv  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_pages"
ADMIN_EMAIL = "bench-admin@example.test"
ADMIN_PASSWORD = "bench-Passw0rd-long"

LUA = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def _log(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# ---------------------------------------------------------------- the catalogue, as CSV files


def products_csv(products: int, vendors: int, rng: random.Random) -> tuple[str, list[str]]:
    from marketplace.clock import local_today

    today = local_today()
    lines = [
        "sku,vendor_code,name,category,unit,price,certificate_no,certified_on,valid_until,stock"
    ]
    names = []
    for n in range(products):
        word, category = rng.choice(PRODUCT_WORDS)
        name = f"{rng.choice(PREFIXES)}{word}{n + 1}号"
        names.append(name)
        cert = ",,"
        if rng.random() < 0.9:
            start = today - timedelta(days=rng.randrange(1, 300))
            cert = (
                f"FP-B-{n + 1:06d},{start.isoformat()},{(start + timedelta(days=365)).isoformat()}"
            )
        price = f"{rng.randrange(500, 30000, 50) / 100:.2f}"
        lines.append(
            f"P{n + 1:06d},V{n % vendors:05d},{name},{category},{rng.choice(UNITS)},{price},"
            f"{cert},{rng.randrange(0, 500)}"
        )
    return "\n".join(lines) + "\n", names


def links_csv(products: int, households: int, links: int, rng: random.Random) -> str:
    lines = ["sku,household_code,weight"]
    per = max(1, links // products)
    for n in range(products):
        for h in rng.sample(range(households), per):
            lines.append(f"P{n + 1:06d},HK{h:08d},{rng.randrange(1, 5)}")
    return "\n".join(lines) + "\n"


def sales_csv(rows: int, products: int, rng: random.Random) -> str:
    from marketplace.clock import local_today

    today = local_today()
    lines = ["sale_ref,channel,date,sku,quantity,unit_price,buyer,payment_method"]
    n = 0
    order = 0
    while n < rows:
        order += 1
        channel = rng.choice(["online", "online", "procurement", "counter"])
        day = (today - timedelta(days=rng.randrange(0, 365))).isoformat()
        buyer = {"procurement": "某某单位食堂", "counter": "消费帮扶专柜"}.get(channel, "")
        method = rng.choice(["cash", "wechat", "alipay", "bank_transfer"])
        for _ in range(min(rng.randint(1, 3), rows - n)):
            lines.append(
                f"S{order:08d},{channel},{day},P{rng.randrange(products) + 1:06d},"
                f"{rng.randint(1, 20)},{rng.randrange(500, 30000, 50) / 100:.2f},{buyer},{method}"
            )
            n += 1
    return "\n".join(lines) + "\n"


def fill(url: str, args) -> dict:
    """Migrate, then load the catalogue through run_import (what `flask import` runs)."""
    from flask_migrate import upgrade

    from catalog.imports import BenefitLinksImport, ProductsImport
    from marketplace import create_app
    from marketplace.accounts.services import create_bureau_admin
    from marketplace.bureau.imports import HouseholdsImport
    from marketplace.extensions import db
    from marketplace.importing import run_import
    from marketplace.orgs.imports import VendorsImport
    from orders.ledger.imports import SalesImport

    rng = random.Random(11)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret"})
    vendors = max(20, args.products // 33)
    with app.app_context():
        upgrade()
        product_file, _names = products_csv(args.products, vendors, rng)
        files = [
            (
                "households",
                HouseholdsImport,
                households_csv(args.households, seed=1),
                args.households,
            ),
            ("vendors", VendorsImport, vendors_csv(vendors, seed=1), vendors),
            ("products (with stock)", ProductsImport, product_file, args.products),
            (
                "benefit-links",
                BenefitLinksImport,
                links_csv(args.products, args.households, args.links, rng),
                args.links,
            ),
            ("sales", SalesImport, sales_csv(args.sales, args.products, rng), args.sales),
        ]
        timings = {}
        for label, importer, data, rows in files:
            started = time.perf_counter()
            summary = run_import(importer(), data.encode("utf-8"))
            seconds = time.perf_counter() - started
            timings[label] = seconds
            _log(
                f"  import {label:<22} {rows:>7} rows {seconds:7.2f} s"
                f"  [{summary.line()}]  load {load()}"
            )
            db.session.remove()
        create_bureau_admin(
            email=ADMIN_EMAIL, password=ADMIN_PASSWORD, name="基准", bureau="乡村振兴局"
        )
        db.session.remove()
    return timings


SELLABLE_SQL = """
SELECT p.id FROM products p JOIN organizations o ON o.id = p.vendor_id
WHERE p.status = 'active' AND o.status = 'verified' AND EXISTS (
  SELECT 1 FROM certifications c WHERE c.product_id = p.id AND c.status = 'approved'
  AND c.certified_on <= CURRENT_DATE AND c.valid_until >= CURRENT_DATE)
"""


def ids_from_database(url: str) -> dict:
    """Names, product ids (all, and the sellable ones: an unsellable id answers 404 or a
    暂停销售 page, measured in its own row) and vendor ids."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        names = list(conn.execute(text("SELECT name FROM products")).scalars())
        product_ids = list(conn.execute(text("SELECT id FROM products")).scalars())
        sellable = set(conn.execute(text(SELLABLE_SQL)).scalars())
        vendor_ids = list(
            conn.execute(text("SELECT id FROM organizations WHERE code IS NOT NULL")).scalars()
        )
        districts = list(conn.execute(text("SELECT id FROM districts")).scalars())
        categories = list(conn.execute(text("SELECT id FROM categories")).scalars())
    engine.dispose()
    return {
        "names": names,
        "product_ids": sorted(sellable),
        "unsellable_ids": sorted(set(product_ids) - sellable),
        "vendor_ids": vendor_ids,
        "districts": districts,
        "categories": categories,
        "timings": {},
    }


def login_cookie(url: str, base: str) -> str:
    """The session cookie of the bench's bureau admin, logged in through the login page."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).encode()
    opener.open(base + "/login", data=form, timeout=30).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookies:
        raise SystemExit("bench: could not log in")
    return cookies


# ---------------------------------------------------------------- load


def search_terms(names: list[str], rng: random.Random, count: int) -> list[str]:
    words = [w for w, _c in PRODUCT_WORDS] + PREFIXES
    terms = set()
    while len(terms) < count:
        roll = rng.random()
        if roll < 0.4:
            terms.add(rng.choice(words) + " " + rng.choice(words))
        elif roll < 0.8:
            name = rng.choice(names)
            start = rng.randrange(0, max(1, len(name) - 3))
            terms.add(name[start : start + rng.randint(2, 5)])
        else:
            terms.add(rng.choice(words))
    return sorted(terms)


SORTS = ("new", "price_asc", "price_desc")


def filter_paths(ids: dict, rng: random.Random, count: int) -> list[str]:
    """List URLs that differ in what the list reads: sort, category, district, page 1-3."""
    paths = []
    for _ in range(count):
        args = {"sort": rng.choice(SORTS), "page": rng.randint(1, 3)}
        if rng.random() < 0.6:
            args["category"] = rng.choice(ids["categories"])
        if rng.random() < 0.5:
            args["district"] = rng.choice(ids["districts"])
        paths.append("/products?" + urllib.parse.urlencode(args))
    return paths


def wrk(base: str, paths: list[str], args, cookie: str | None = None) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "paths.lua"
        script.write_text(LUA)
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        headers = ["-H", f"Cookie: {cookie}"] if cookie else []
        for path in paths[:4]:  # warm up both workers; a page too slow to answer is measured
            headers_ = {"Cookie": cookie} if cookie else {}
            try:
                request = urllib.request.Request(base + path, headers=headers_)
                urllib.request.urlopen(request, timeout=20).read()
            except OSError as exc:
                _log(f"    warm-up {path}: {exc}")
        return load_wrk(
            base,
            args.duration,
            args.connections,
            ["--timeout", "10s", "-s", str(script), *headers],
            env=dict(os.environ, BENCH_PATHS=str(listing)),
        )


def first_request(base: str, path: str) -> float:
    started = time.perf_counter()
    urllib.request.urlopen(base + path, timeout=120).read()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--links", type=int, default=50_000)
    parser.add_argument("--sales", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=6, help="seconds per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="keep the filled database")
    parser.add_argument("--only", help="comma-separated row labels to measure")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/pages.py needs wrk (apt-get install wrk)")

    url = args.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    _log(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
    timings = {}
    if not args.reuse:
        recreate_database(url)
        _log("imports:")
        timings = fill(url, args)
    ids = ids_from_database(url)
    ids["timings"] = timings

    bare = serve("bench.bare_app:app", url, "/")
    minimal = serve("bench.minimal_app:app", url, "/bench/minimal")
    app = serve("wsgi:app", url, "/healthz")
    nocache = serve("bench.nocache_app:app", url, "/healthz")
    try:
        if not args.reuse:
            _log(
                f"first request after the imports: home {first_request(app.base, '/'):.0f} ms, "
                f"list {first_request(app.base, '/products'):.0f} ms"
            )
        cookie = login_cookie(url, app.base)
        rng = random.Random(5)
        n = 3000
        terms = search_terms(ids["names"], rng, 400)
        rows = [
            ("bare Flask page", bare.base, ["/"], None),
            ("app middleware only", minimal.base, ["/bench/minimal"], None),
            ("home", app.base, [f"/?from={rng.randrange(10**6)}" for _ in range(n)], None),
            ("list same URL (cached)", app.base, ["/products"], None),
            # ?ref= is a share's tracking parameter the list ignores: every request after
            # the first of each worker is a page-cache hit
            (
                "list ?ref= only (cached)",
                app.base,
                [f"/products?ref={rng.randrange(10**6)}" for _ in range(n)],
                None,
            ),
            ("list distinct filters", app.base, filter_paths(ids, rng, n), None),
            ("list filters no page cache", nocache.base, filter_paths(ids, rng, n), None),
            ("list page 1 no page cache", nocache.base, ["/products?page=1"], None),
            ("list page 400 no page cache", nocache.base, ["/products?page=400"], None),
            (
                "deep pages 1-400",
                app.base,
                [
                    f"/products?page={rng.randint(1, 400)}&sort={rng.choice(SORTS)}"
                    for _ in range(n)
                ],
                None,
            ),
            ("search", app.base, [f"/products?q={urllib.parse.quote(t)}" for t in terms], None),
            (
                "product sellable ids",
                app.base,
                [f"/products/{rng.choice(ids['product_ids'])}" for _ in range(n)],
                None,
            ),
            (
                "product unsellable ids",
                app.base,
                [f"/products/{rng.choice(ids['unsellable_ids'])}" for _ in range(n)],
                None,
            ),
            (
                "vendor",
                app.base,
                [f"/vendors/{rng.choice(ids['vendor_ids'])}" for _ in range(n)],
                None,
            ),
            ("impact", app.base, [f"/impact?from={rng.randrange(10**6)}" for _ in range(n)], None),
            (
                "bureau dashboard",
                app.base,
                [f"/bureau/reports?ref={rng.randrange(10**6)}" for _ in range(n)],
                cookie,
            ),
        ]
        if args.only:
            wanted = {"bare Flask page", *args.only.split(",")}
            rows = [row for row in rows if row[0] in wanted]
        _log(
            f"\nwrk -t2 -c{args.connections} -d{args.duration}s,"
            " gunicorn 2 sync workers each, 127.0.0.1"
        )
        _log(
            f"{'page':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'non-2xx':>9}"
            "   load avg"
        )
        results: dict[str, Result] = {}
        for label, base, paths, row_cookie in rows:
            before = load()
            result = wrk(base, paths, args, row_cookie)
            results[label] = result
            ratio = result.rps / results["bare Flask page"].rps
            _log(
                f"{label:<26}{result.rps:>9.1f}{result.p50_ms:>9.1f}{result.p99_ms:>9.1f}"
                f"{ratio:>8.3f}{result.errors:>9}   {before}"
            )
        # the yardstick again: how far the machine drifted while the rows ran (ratios above
        # are to the first figure; a second figure far from it means a noisy run)
        again = wrk(bare.base, ["/"], args)
        _log(
            f"{'bare Flask page (again)':<26}{again.rps:>9.1f}{again.p50_ms:>9.1f}"
            f"{again.p99_ms:>9.1f}{again.rps / results['bare Flask page'].rps:>8.3f}"
            f"{again.errors:>9}   {load()}"
        )
    finally:
        for server in (bare, minimal, app, nocache):
            server.stop()
    _log(f"\nload average at end: {load()}")
    if ids["timings"]:
        _log("import seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in ids["timings"].items()))


if __name__ == "__main__":
    main()
