"""Benchmark (not a test): the ledger's reports and the sales import at city scale.

    .venv/bin/python bench/reports.py [--url postgresql+psycopg://...] [--runs 5] [--fresh]
        [--skip-import] [--dashboard-only] [--today YYYY-MM-DD] [--demo URL]

On PostgreSQL (default database ``mp_bench_reports`` on 127.0.0.1, created if missing,
schema by ``flask db upgrade``) it generates, with set-based SQL only (INSERT ... SELECT
over generate_series), about 1,000,000 paid sale lines over 5 years and 4 channels and
about 3,000,000 attribution rows (6,565 households in 160 villages, 240 products, most
linked to 3 or 4 households, some without links; 216 fairs; 0.5% of orders refunded in
full), then prints the median of several runs of:

- importing a 100,000-row sales CSV through ``SalesImport`` (rolled back out again after
  each run, untimed, so every run sees the same database);
- ``report summary`` for the whole period and for one month;
- the district breakdown and one town's village breakdown (orders.reports.breakdowns);
- next to them, in the same run, the hand-written single SQL
  ``SELECT channel, sum(amount) FROM order_lines JOIN orders ... GROUP BY channel``
  over the same rows (the whole period and the same month);
- the /impact figures (uncached: what a sale's commit makes the next visitor compute);
- the bureau dashboard page (``/bureau/reports``, logged in, through the test client:
  everything but the network), for the whole period and for a period cutting months
  (whose partial months come from the attribution rows, read once into a temporary
  table), each uncached (its cached figures dropped before every run, as a sale's
  commit does) and cached (the figures from the cache, the page rendered);
- with ``--demo URL`` (a database loaded by ``flask demo load``, e.g.
  ``sqlite:////tmp/demo.db``), the same dashboard figures on the demo data.

Every report reads the sales rollup (orders/ledger/rollup.py); the generated rows are
written past the app, so the rollup is rebuilt after generating (``report
rebuild-rollup``), and a database generated before the rollup existed is upgraded (the
migration fills it). Each import run's rows are taken out of the rollup again with it.
The script also runs against an older checkout without a rollup (for a before/after
comparison): the parts it lacks are skipped. The load average is printed with the
figures.

Measured on the shared 2-CPU development machine (1 December 2026, load average 1.1 to
1.7, medians in seconds; "before" is the checkout before the rollup, same data, same run
order):

    what                                         before    rollup
    bureau dashboard page, whole period           7.97     0.56
    bureau dashboard page, 2024-03-15..09-10      2.80     1.17
    /impact figures (uncached)                    2.88     0.115
    district breakdown, whole period              1.24     0.040   (raw GROUP BY 0.43)
    village breakdown of one town                 0.71     0.021
    report summary, whole period                  0.31     0.12
    import sales, 100,000 rows                   42.9     46.8     (the rollup's upsert)

The dashboard before and after its cache and the temporary table for partial months
(1 December 2026, 04:05-04:09 UTC, one run each, medians of 3, ``--skip-import --demo``;
the machine was shared and busy: load average 4.1 to 4.8 on 2 CPUs, so every figure is
about twice what a quiet machine gives; "before" is commit 9abc458 run by this script):

    what                                                     before   after
    bureau dashboard, whole period, uncached                  1.524    1.341
    bureau dashboard, whole period, cached                       -     0.031
    bureau dashboard, 2024-03-15..09-10, uncached             2.275    1.221
    bureau dashboard, 2024-03-15..09-10, cached                  -     0.024
    demo (SQLite, 12,817 lines): whole period, uncached       0.398    0.602
    demo: whole period, cached                                   -     0.019
    demo: 2024-03-15..09-10, uncached                         0.198    0.180
    demo: 2024-03-15..09-10, cached                              -     0.018

The demo's uncached whole period varies from 0.38 to 0.80 s between runs of either
version at that load (the same SQL: that period reads no raw rows).

The dashboard's closed months apart (1 December 2026, 04:30-04:32 UTC, load average 2.4
to 3.0 on 2 CPUs, medians of 3 to 5, ``--skip-import --dashboard-only --today
2025-12-20``: the generated data's last month is the current one; the demo with the real
day, ``--skip-reports --demo``; "before" is commit 19b4a11 run by this script). After a
sale of today ("uncached") only the current month is read afresh; "closed months too"
is after a write dated in an earlier month (an import, a refund of an older sale), or
once an hour:

    what                                                     before   after
    bureau dashboard, whole period, uncached                  0.766    0.322
    bureau dashboard, whole period, closed months too             -    0.789
    bureau dashboard, whole period, cached                    0.021    0.021
    bureau dashboard, this year (2025), uncached              0.364    0.136
    bureau dashboard, this year, closed months too                -    0.415
    bureau dashboard, 2024-03-15..09-10, uncached             0.806    0.018
    bureau dashboard, 2024-03-15..09-10, closed months too        -    1.061
    demo: whole period, uncached                              0.488    0.190
    demo: whole period, closed months too                         -    0.336
    demo: this year (2026), uncached                          0.169    0.128
    demo: 2024-03-15..09-10, uncached                         0.169    0.015

(A period ending before the current month is cached whole under the closed months'
area: today's sales never drop it. The index of the rollup's fair month rows, migration
ds2a1b2c3d4e, takes "closed months too" for the whole period from 0.90 to 0.79 s and
this year's uncached from 0.22 to 0.14 s in the same runs.)

The generated attribution split is a simple one (floor, the remainder to one
household): exact sums, which is all the timings need.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, distinct, func, select, text  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_reports"
START, END = date(2021, 1, 1), date(2025, 12, 31)
MONTH = (date(2024, 6, 1), date(2024, 6, 30))
ORDERS = 333_334  # three lines each: 1,000,002 lines
HOUSEHOLDS = 6_565
PRODUCTS = 240
IMPORT_ROWS = 100_000

GENERATE = [
    # places: 4 districts, 16 towns, 160 villages
    """INSERT INTO districts (id, name)
       SELECT g, 'B区' || g FROM generate_series(1, 4) g""",
    """INSERT INTO towns (id, district_id, name)
       SELECT g, (g - 1) / 4 + 1, 'B镇' || g FROM generate_series(1, 16) g""",
    """INSERT INTO villages (id, town_id, name, is_poor)
       SELECT g, (g - 1) / 10 + 1, 'B村' || g, g % 3 <> 0 FROM generate_series(1, 160) g""",
    f"""INSERT INTO households (id, code, head_name, members, village_id, status, risk_light,
            created_at, updated_at)
       SELECT g, 'BH' || lpad(g::text, 6, '0'), '户主' || g, 1 + (hashint4(g) & 2147483647) % 7,
              1 + (hashint4(g * 7) & 2147483647) % 160, 'alleviated', 'green', now(), now()
       FROM generate_series(1, {HOUSEHOLDS}) g""",
    """INSERT INTO organizations (id, name, kind, status, code, created_at)
       SELECT g, 'B合作社' || g, 'cooperative', 'verified', 'BV' || g, now()
       FROM generate_series(1, 40) g""",
    """INSERT INTO organizations (id, name, kind, status, created_at) VALUES
       (41, 'B教育局', 'agency', 'verified', now()),
       (42, 'B超市', 'retailer', 'verified', now())""",
    """INSERT INTO categories (name, signature, position)
       VALUES ('B品类', false, 999) ON CONFLICT DO NOTHING""",
    f"""INSERT INTO products (id, vendor_id, sku, name, category_id, description, specification,
            unit, price, shelf_life, min_order_qty, status, featured, search_text, created_at,
            updated_at)
       SELECT g, 1 + (g - 1) % 40, 'BSKU-' || g, 'B产品' || g,
              (SELECT id FROM categories WHERE name = 'B品类'), '', '', '箱',
              500 + (hashint4(g) & 2147483647) % 20000, '', 1, 'active', false, '', now(), now()
       FROM generate_series(1, {PRODUCTS}) g""",
    # 90% of products linked to 3 or 4 households; the rest have no links
    f"""INSERT INTO benefit_links (product_id, household_id, weight, valid_from, created_at)
       SELECT p, 1 + (hashint4(p * 100 + k) & 2147483647) % {HOUSEHOLDS}, 1 + k % 3,
              DATE '1900-01-01', now()
       FROM generate_series(1, {PRODUCTS}) p, generate_series(1, 4) k
       WHERE p % 10 <> 0 AND (k < 4 OR p % 5 = 1)
       ON CONFLICT DO NOTHING""",
    # certified for two of the five years, most products
    f"""INSERT INTO certifications (product_id, status, expected_annual_value, note,
            certificate_no, certified_on, valid_until, applied_at, decided_at)
       SELECT g, 'approved', 0, '', 'BFP-' || g,
              DATE '2021-01-01' + (g % 36) * 30, DATE '2021-01-01' + (g % 36) * 30 + 729,
              now(), now()
       FROM generate_series(1, {PRODUCTS}) g WHERE g % 6 <> 0""",
    """INSERT INTO fairs (id, code, name, date, venue, district, status, created_at)
       SELECT g, 'BF' || g, 'B集市' || g, DATE '2021-01-03' + (g - 1) * 8, '广场',
              'B区' || (1 + g % 4), 'closed', now()
       FROM generate_series(1, 216) g""",
    # orders: 50% online, 20% fair, 10% procurement, 20% counter
    f"""INSERT INTO orders (id, number, channel, status, sale_date, paid_at, buyer_org_id,
            buyer_name, fair_id, payment_method, total, refunded, created_at, updated_at)
       SELECT g, 'B' || g, c.channel, 'paid', c.day, c.day, c.org, NULL,
              CASE WHEN c.channel = 'fair' THEN 1 + (c.day - DATE '2021-01-03') / 8 END,
              'wechat', 0, 0, now(), now()
       FROM generate_series(1, {ORDERS}) g,
       LATERAL (SELECT
           CASE WHEN g % 10 < 5 THEN 'online' WHEN g % 10 < 7 THEN 'fair'
                WHEN g % 10 < 8 THEN 'procurement' ELSE 'counter' END AS channel,
           CASE WHEN g % 10 BETWEEN 5 AND 6
                THEN DATE '2021-01-03' + ((hashint4(g) & 2147483647) % 216) * 8
                ELSE DATE '{START}' + (hashint4(g) & 2147483647) % {(END - START).days + 1}
           END AS day,
           CASE WHEN g % 10 = 7 THEN 41 WHEN g % 10 >= 8 THEN 42 END AS org) c""",
    f"""INSERT INTO order_lines (id, order_id, product_id, vendor_id, product_name, unit,
            unit_price, quantity, amount, certified, refunded_quantity, refunded_amount)
       SELECT g, (g - 1) / 3 + 1, p.id, p.vendor_id, p.name, p.unit, p.price, q.n,
              p.price * q.n, false, 0, 0
       FROM generate_series(1, {ORDERS * 3}) g
       CROSS JOIN LATERAL (SELECT 1 + (hashint4(g) & 2147483647) % 9 AS n) q
       JOIN products p ON p.id = 1 + (hashint4(g * 31) & 2147483647) % {PRODUCTS}""",
    """UPDATE order_lines l SET certified = true
       FROM orders o, certifications c
       WHERE o.id = l.order_id AND c.product_id = l.product_id
         AND o.sale_date BETWEEN c.certified_on AND c.valid_until""",
    """UPDATE orders o SET total = s.total, certified_total = s.certified
       FROM (SELECT order_id, sum(amount) AS total,
                    sum(CASE WHEN certified THEN amount ELSE 0 END) AS certified
             FROM order_lines GROUP BY order_id) s
       WHERE s.order_id = o.id""",
    # attribution: split over the links by weight (integer division), the household with
    # the lowest code takes what the divisions left over
    """INSERT INTO attributions (order_id, order_line_id, refund_id, household_id, village_id,
            product_id, vendor_id, channel, sale_date, certified, amount, created_at)
       SELECT order_id, line_id, NULL, household_id, village_id, product_id, vendor_id,
              channel, sale_date, certified,
              CASE WHEN first THEN part + amount - sum(part) OVER (PARTITION BY line_id)
                   ELSE part END,
              now()
       FROM (SELECT l.order_id, l.id AS line_id, s.household_id, s.village_id, l.product_id,
                    l.vendor_id, o.channel, o.sale_date, l.certified, l.amount, s.first,
                    floor(l.amount * s.weight / s.total)::bigint AS part
             FROM order_lines l
             JOIN orders o ON o.id = l.order_id
             JOIN (SELECT b.product_id, b.household_id, h.village_id,
                          b.weight::bigint AS weight,
                          sum(b.weight::bigint) OVER (PARTITION BY b.product_id) AS total,
                          row_number() OVER (PARTITION BY b.product_id ORDER BY h.code) = 1
                              AS first
                   FROM benefit_links b JOIN households h ON h.id = b.household_id) s
               ON s.product_id = l.product_id) parts""",
    """INSERT INTO attributions (order_id, order_line_id, refund_id, household_id, village_id,
            product_id, vendor_id, channel, sale_date, certified, amount, created_at)
       SELECT l.order_id, l.id, NULL, NULL, NULL, l.product_id, l.vendor_id, o.channel,
              o.sale_date, l.certified, l.amount, now()
       FROM order_lines l JOIN orders o ON o.id = l.order_id
       WHERE NOT EXISTS (SELECT 1 FROM benefit_links b WHERE b.product_id = l.product_id)""",
    # 0.5% of orders refunded in full: a refund, its lines and the opposite rows
    """INSERT INTO refunds (id, order_id, amount, reason, created_at)
       SELECT o.id, o.id, o.total, 'bench', now() FROM orders o WHERE o.id % 200 = 0""",
    """INSERT INTO refund_lines (refund_id, order_line_id, quantity, amount)
       SELECT l.order_id, l.id, l.quantity, l.amount FROM order_lines l
       WHERE l.order_id % 200 = 0""",
    """UPDATE order_lines SET refunded_quantity = quantity, refunded_amount = amount
       WHERE order_id % 200 = 0""",
    "UPDATE orders SET refunded = total WHERE id % 200 = 0",
    """INSERT INTO attributions (order_id, order_line_id, refund_id, household_id, village_id,
            product_id, vendor_id, channel, sale_date, certified, amount, created_at)
       SELECT order_id, order_line_id, order_id, household_id, village_id, product_id,
              vendor_id, channel, sale_date, certified, -amount, now()
       FROM attributions WHERE order_id % 200 = 0 AND refund_id IS NULL""",
]
SEQUENCES = ["districts", "towns", "villages", "households", "organizations", "products",
             "fairs", "orders", "order_lines", "refunds"]  # fmt: skip


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def make_app(url: str):
    from marketplace import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "RATELIMIT_STORAGE_URI": "memory://",
            # (limits on, in memory: create_app takes out Flask-Limiter's request hook,
            # which RATELIMIT_ENABLED = False never adds)
            "WTF_CSRF_ENABLED": False,  # the test client logs in without the form's token
        }
    )


def rollup_module():
    """orders.ledger.rollup, or None in a checkout from before it existed."""
    try:
        from orders.ledger import rollup
    except ImportError:
        return None
    return rollup


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


DEMO_EMAIL, DEMO_PASSWORD = "bureau@demo.cn", "demo2026"  # ``flask demo logins``
ADMIN_EMAIL = "bench-reports@example.test"
ADMIN_PASSWORD = "bench-Passw0rd-long"


def dashboard_client(app, db):
    """A test client logged in as a bureau admin (created if missing)."""
    from marketplace.accounts.services import create_bureau_admin
    from marketplace.models import User

    if not db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)):
        create_bureau_admin(
            email=ADMIN_EMAIL, password=ADMIN_PASSWORD, name="基准", bureau="B乡村振兴局"
        )
    db.session.remove()
    client = app.test_client()
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"bench: could not log in ({response.status_code})")
    return client


def uncache() -> None:
    """Drop the cached dashboard figures (what a sale's commit does), if this checkout
    caches them; its closed months' figures stay (a sale of today never drops them)."""
    try:
        from orders.ledger.rollup import REPORTS_AREA
    except ImportError:
        return
    from marketplace.fragments import bump

    bump(REPORTS_AREA)


def uncache_all() -> bool:
    """Drop the dashboard's closed months' figures too (what an import into an old month
    does); False when this checkout has none."""
    try:
        from orders.ledger.rollup import CLOSED_AREA
    except ImportError:
        return False
    from marketplace.fragments import bump

    uncache()
    bump(CLOSED_AREA)
    return True


def dashboard_figures(app, db, client, runs: int, expect: str) -> list[tuple]:
    """The dashboard page, uncached (computed afresh, as after a sale commits) and
    cached, for the whole period and for a period cutting months."""
    from marketplace.clock import local_today

    year = local_today().year
    result = []
    for label, path in [
        ("whole period", "/bureau/reports"),
        (f"{year} (this year)", f"/bureau/reports?from={year}-01-01&to={year}-12-31"),
        ("2024-03-15..09-10", "/bureau/reports?from=2024-03-15&to=2024-09-10"),
    ]:
        if uncache_all():
            everything, _ = timed(lambda path=path: get_page(client, path), runs, setup=uncache_all)
            result.append((f"bureau dashboard, {label}, closed months too", everything, None))
        seconds, page = timed(lambda path=path: get_page(client, path), runs, setup=uncache)
        assert expect in page
        cached, _ = timed(lambda path=path: get_page(client, path), runs)
        result += [
            (f"bureau dashboard, {label}, uncached", seconds, None),
            (f"bureau dashboard, {label}, cached", cached, None),
        ]
    return result


def get_page(client, path: str) -> str:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"bench: {path} answered {response.status_code}")
    return response.get_data(as_text=True)


def generate(db) -> None:
    """Fresh schema (db upgrade) and the generated ledger."""
    from flask_migrate import upgrade

    db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.session.commit()
    upgrade()
    db.session.remove()
    for statement in GENERATE:
        started = time.perf_counter()
        # generated consistent by construction: skip the per-row foreign key checks
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text(statement))
        db.session.commit()
        print(f"  {time.perf_counter() - started:6.1f} s  {' '.join(statement.split())[:70]}")
    for table in SEQUENCES:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
    db.session.commit()
    db.session.remove()
    rollup = rollup_module()
    if rollup is not None:
        started = time.perf_counter()
        rows = rollup.rebuild()
        print(f"  {time.perf_counter() - started:6.1f} s  report rebuild-rollup: {rows:,} rows")
        db.session.remove()
    vacuum(db)


def vacuum(db) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def sales_csv(run: int) -> bytes:
    """IMPORT_ROWS rows, three lines per sale_ref, all four channels."""
    out = io.StringIO()
    out.write("sale_ref,channel,date,sku,quantity,unit_price,fair_code,buyer,payment_method\n")
    channels = ["online", "fair", "procurement", "counter", "online"]
    for n in range(IMPORT_ROWS):
        order = n // 3
        channel = channels[order % len(channels)]
        fair = f"BF{1 + order % 216}" if channel == "fair" else ""
        day = (
            date.fromordinal(date(2021, 1, 3).toordinal() + (order % 216) * 8)
            if channel == "fair"
            else date.fromordinal(START.toordinal() + (order * 37) % 1826)
        )
        buyer = {"procurement": "B教育局", "counter": "B超市"}.get(channel, "")
        out.write(
            f"BENCH-{run}-{order},{channel},{day.isoformat()},BSKU-{1 + (n * 7) % PRODUCTS},"
            f"{1 + n % 5},{12 + n % 50}.50,{fair},{buyer},wechat\n"
        )
    return out.getvalue().encode()


def timed(fn, runs: int, setup=None) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        if setup is not None:
            setup()  # untimed
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def remove_import(db, run: int) -> None:
    ids = f"SELECT id FROM orders WHERE external_ref LIKE 'BENCH-{run}-%'"
    rollup = rollup_module()
    if rollup is not None:
        # take the import's sums out of the rollup (what a rebuild would give, faster)
        from orders.ledger.models import Order, SalesRollup

        table = SalesRollup.__table__
        for span in ("m", "y"):
            keyed = rollup.rollup_select(span).where(Order.external_ref.like(f"BENCH-{run}-%"))
            sums = keyed.subquery("sums")
            key_columns = list(sums.c)[: len(rollup.KEY)]
            db.session.execute(
                table.update()
                .where(*[table.c[k] == col for k, col in zip(rollup.KEY, key_columns, strict=True)])
                .values(amount=table.c.amount - list(sums.c)[-1])
            )
    # only the bench's own rows go, children first: skip the per-row foreign key checks
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(f"DELETE FROM attributions WHERE order_id IN ({ids})"))
    db.session.execute(text(f"DELETE FROM order_lines WHERE order_id IN ({ids})"))
    db.session.execute(text("DELETE FROM audit_log WHERE action = 'import.sales'"))
    db.session.execute(text(f"DELETE FROM orders WHERE external_ref LIKE 'BENCH-{run}-%'"))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="Regenerate the data.")
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--demo",
        metavar="URL",
        help="Also time the dashboard on a database loaded by `flask demo load` "
        "(e.g. sqlite:////tmp/demo.db).",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        help="Run with the clock on this day (noon UTC), e.g. 2025-12-20: the generated "
        "data's last month is then the current one, with its sales (the dashboard "
        "computes it afresh after a sale).",
    )
    parser.add_argument(
        "--dashboard-only", action="store_true", help="Of the reports, the dashboard only."
    )
    args = parser.parse_args()
    if args.today is not None:
        from marketplace import clock

        moment = datetime(args.today.year, args.today.month, args.today.day, 12, tzinfo=UTC)
        clock._now = lambda: moment

    ensure_database(args.url)
    app = make_app(args.url)
    from marketplace.extensions import db
    from marketplace.importing import run_import
    from marketplace.models import Household
    from orders.ledger.imports import SalesImport
    from orders.reports import breakdowns
    from orders.reports.summary import households_driven_query, summary

    print(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
    with app.app_context():
        have = db.session.execute(text("SELECT to_regclass('attributions')")).scalar()
        if args.fresh or not have or not db.session.scalar(text("SELECT count(*) FROM orders")):
            print("generating (set-based SQL) ...")
            generate(db)
        elif rollup_module() is not None and not db.session.scalar(
            text("SELECT to_regclass('sales_rollup')")
        ):
            from flask_migrate import upgrade

            started = time.perf_counter()
            upgrade()  # the migration fills the rollup from the rows
            print(f"  {time.perf_counter() - started:6.1f} s  db upgrade (fills the rollup)")
            db.session.remove()
            vacuum(db)
        if rollup_module() is not None:
            print(
                "sales rollup: "
                f"{db.session.scalar(text('SELECT count(*) FROM sales_rollup')):,} rows"
            )
        counts = db.session.execute(
            text(
                "SELECT (SELECT count(*) FROM order_lines), (SELECT count(*) FROM attributions),"
                " (SELECT count(*) FROM orders), (SELECT count(*) FROM households)"
            )
        ).one()
        print(
            f"data: {counts[0]:,} sale lines, {counts[1]:,} attribution rows, "
            f"{counts[2]:,} orders, {counts[3]:,} households"
        )

        def raw(date_from=None, date_to=None):
            where = "o.status IN ('paid', 'completed')"
            if date_from:
                where += " AND o.sale_date BETWEEN :f AND :t"
            return db.session.execute(
                text(
                    "SELECT o.channel, sum(l.amount - l.refunded_amount) FROM order_lines l "
                    f"JOIN orders o ON o.id = l.order_id WHERE {where} GROUP BY o.channel"
                ),
                {"f": date_from, "t": date_to},
            ).all()

        figures = []
        if args.dashboard_only and not args.skip_reports:
            figures += dashboard_figures(app, db, dashboard_client(app, db), args.runs, "B区")
            db.session.remove()
        elif not args.skip_reports:
            raw_all, raw_result = timed(raw, args.runs)
            sum_all, whole = timed(summary, args.runs)
            raw_month, _ = timed(lambda: raw(*MONTH), args.runs)
            sum_month, _ = timed(lambda: summary(*MONTH), args.runs)
            assert {c: int(a) for c, a in raw_result} == {
                c: f.amount for c, f in whole.channels.items()
            }, "summary and the raw query disagree"

            # the households figures against the plain GROUP BY definition (untimed check),
            # and what that plain GROUP BY costs
            def plain_households(date_from, date_to):
                driven = households_driven_query(date_from, date_to)
                return tuple(
                    int(v or 0)
                    for v in db.session.execute(
                        select(
                            func.count(distinct(driven.c.household_id)), func.sum(Household.members)
                        )
                        .select_from(driven)
                        .join(Household, Household.id == driven.c.household_id)
                    ).one()
                )

            month_figures = summary(*MONTH)
            assert plain_households(None, None) == (whole.households_driven, whole.person_times)
            assert plain_households(*MONTH) == (
                month_figures.households_driven,
                month_figures.person_times,
            )
            plain_all, _ = timed(lambda: plain_households(None, None), args.runs)
            print(
                f"whole period: total {whole.total_amount / 100:,.2f} yuan, "
                f"{whole.households_driven:,} households, {whole.person_times:,} person-times"
            )
            figures += [
                ("raw SQL GROUP BY channel, whole period", raw_all, None),
                ("report summary, whole period", sum_all, sum_all / raw_all),
                ("raw SQL GROUP BY channel, one month", raw_month, None),
                ("report summary, one month", sum_month, sum_month / raw_month),
                ("(plain GROUP BY households+years, whole)", plain_all, plain_all / raw_all),
            ]
            period = breakdowns.Period(None, None)
            geo_all, _ = timed(lambda: breakdowns.geography(period), args.runs)
            town_id = db.session.scalar(text("SELECT min(id) FROM towns"))
            geo_town, _ = timed(lambda: breakdowns.geography(period, town_id=town_id), args.runs)
            geo_month, _ = timed(lambda: breakdowns.geography(breakdowns.Period(*MONTH)), args.runs)
            figures += [
                ("district breakdown, whole period", geo_all, geo_all / raw_all),
                ("village breakdown of one town, whole period", geo_town, geo_town / raw_all),
                ("district breakdown, one month", geo_month, geo_month / raw_month),
            ]
            try:
                from orders.reports.public import impact
            except ImportError:  # an older checkout
                from orders.reports.breakdowns import impact
            impact_all, _ = timed(impact, args.runs)
            figures.append(("/impact figures (uncached)", impact_all, impact_all / raw_all))
            db.session.remove()
            figures += dashboard_figures(app, db, dashboard_client(app, db), args.runs, "B区")
            db.session.remove()
        if args.demo:
            demo = make_app(args.demo)
            with demo.app_context():
                client = demo.test_client()
                response = client.post(
                    "/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
                )
                if response.status_code != 302:
                    raise SystemExit(
                        f"bench: could not log in to the demo ({response.status_code})"
                    )
                figures += [
                    (f"demo: {label}", seconds, None)
                    for label, seconds, _ratio in dashboard_figures(
                        demo, db, client, args.runs, "<svg"
                    )
                ]
                db.session.remove()

        if not args.skip_import:
            import_times = []
            for run in range(1, args.import_runs + 1):
                remove_import(db, run)
                data = sales_csv(run)
                started = time.perf_counter()
                result = run_import(SalesImport("bench"), data)
                import_times.append(time.perf_counter() - started)
                print(f"  import run {run}: {import_times[-1]:.1f} s  {result.line()}", flush=True)
                db.session.remove()
                remove_import(db, run)
            vacuum(db)
            figures.append(
                (f"import sales, {IMPORT_ROWS:,} rows", statistics.median(import_times), None)
            )

    print()
    print(f"load average at end: {load()}")
    print(f"{'what (median of runs)':<48}{'seconds':>10}{'x raw':>8}")
    for label, seconds, ratio in figures:
        print(f"{label:<48}{seconds:>10.3f}{'' if ratio is None else f'{ratio:>8.2f}'}")


if __name__ == "__main__":
    main()
