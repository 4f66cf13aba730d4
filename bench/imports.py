"""Benchmark: the households and vendors CSV imports (docs/formats.md: a 100,000-row file
must import in well under a minute, bulk inserts in one transaction).

Generates a households CSV (100,000 rows by default, GB18030 like Chinese Excel) and a
vendors CSV (300 rows) in a temporary folder, then times ``run_import`` into the
database given by --database-url: a first import (all rows created) and a re-import of
changed files (all rows updated). Prints seconds, rows/second and peak memory.

    .venv/bin/python bench/imports.py
    .venv/bin/python bench/imports.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench

The schema is created with ``db.create_all()``. The database must not already hold
households unless --reset is given, which drops and recreates every table in it.

With --sales N it measures issue 15's import targets instead: it recreates the
PostgreSQL database given by --database-url (default mp_bench_imports on 127.0.0.1),
migrates it and loads a catalogue the way bench/pages.py does, with its CSV generators
(20,000 households, vendors, 10,000 products with stock, 50,000 benefit links), then N
sales rows, printing each import's seconds and the load average. --profile FILE writes
cProfile statistics of the sales import to FILE.

    .venv/bin/python bench/imports.py --sales 100000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_imports

Each line also gives the Python process's CPU seconds: the rest of the wall time is the
database (and the other users of the machine). Measured on the shared 2-CPU machine,
1 December 2026, one run each, "before" being the tree before the sales import's write
was reworked (same data, run right after):

    import                        before                    after
    products with stock, 10,000     9.0 s (load 3.4)         10.7 s (load 4.0)
    benefit links, 50,000           5.5 s (load 3.4)          5.3 s (load 4.0)
    sales, 100,000 rows           108.0 s (load 3.3-3.6)     67.9 s (load 3.6-4.0)
                                  python 22.0 s CPU          python 18.2 s CPU

The sales rows become ~500,000 attribution rows (5 links per product) and ~666,000
sales rollup keys (month and year), most of the database's time.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾符云王吉陈羊"
GIVEN = "亚华春梅淑芬志明海燕文清秀英德福国强玉兰小红家乐永康金花建平丽娟成林"
DISTRICTS = {
    "秀英区": ["长流镇", "西秀镇", "海秀镇", "石山镇", "永兴镇", "东山镇"],
    "龙华区": ["城西镇", "龙桥镇", "新坡镇", "遵谭镇", "龙泉镇"],
    "琼山区": ["龙塘镇", "云龙镇", "红旗镇", "三门坡镇", "大坡镇", "甲子镇", "旧州镇"],
    "美兰区": ["灵山镇", "演丰镇", "三江镇", "大致坡镇"],
}
STATUSES = ["poor", "alleviated", "alleviated", "alleviated", "edge", "monitored", "general"]
LIGHTS = ["green"] * 17 + ["yellow"] * 2 + ["red"]
VILLAGES_PER_TOWN = 20


def places() -> list[tuple[str, str, str]]:
    return [
        (district, town, f"{town[:-1]}{n:02d}村")
        for district, towns in DISTRICTS.items()
        for town in towns
        for n in range(1, VILLAGES_PER_TOWN + 1)
    ]


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def households_csv(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    where = places()
    lines = [
        "household_code,head_name,members,district,town,village,status,risk_light,registered_year"
    ]
    for n in range(rows):
        district, town, village = where[n % len(where)]
        lines.append(
            f"HK{n:08d},{name(rng)},{rng.randint(1, 8)},{district},{town},{village},"
            f"{rng.choice(STATUSES)},{rng.choice(LIGHTS)},{rng.randint(2014, 2020)}"
        )
    return "\n".join(lines) + "\n"


def credit_code(n: int) -> str:
    from marketplace.credit_code import check_character

    first17 = f"9146010{n:010d}"
    return first17 + check_character(first17)


def vendors_csv(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    where = places()
    kinds = ["cooperative", "cooperative", "enterprise", "household", "other"]
    lines = ["vendor_code,name,kind,district,town,village,credit_code,contact_phone"]
    for n in range(rows):
        district, town, village = where[(n * 7) % len(where)]
        kind = rng.choice(kinds)
        suffix = {"cooperative": "种养专业合作社", "enterprise": "农业有限公司"}.get(kind, "农场")
        lines.append(
            f"V{n:05d},{village}{name(rng)}{suffix},{kind},{district},{town},{village},"
            f"{credit_code(n)},13{rng.randint(100000000, 999999999)}"
        )
    return "\n".join(lines) + "\n"


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, importer, data: bytes, rows: int, trace: bool) -> None:
    from marketplace.importing import run_import

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    summary = run_import(importer, data)
    seconds = time.perf_counter() - started
    heap = ""
    if trace:
        heap = f"  python heap peak {tracemalloc.get_traced_memory()[1] / 2**20:7.1f} MiB"
        tracemalloc.stop()
    print(
        f"{label:<22} {rows:>7} rows {seconds:8.2f} s {rows / seconds:>9,.0f} rows/s"
        f"  peak RSS {peak_rss_mb():7.1f} MiB{heap}   [{summary.line()}]",
        flush=True,
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


CATALOGUE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_imports"


def catalogue(args) -> None:
    """Issue 15's targets: households, vendors, products with stock, benefit links, then
    ``args.sales`` sales rows into a freshly migrated PostgreSQL database, each through
    ``run_import`` (what `flask import ...` runs), timed."""
    import cProfile

    from flask_migrate import upgrade

    from bench.catalog import recreate_database
    from bench.pages import links_csv, products_csv, sales_csv
    from catalog.imports import BenefitLinksImport, ProductsImport
    from marketplace import create_app
    from marketplace.bureau.imports import HouseholdsImport
    from marketplace.extensions import db
    from marketplace.importing import run_import
    from marketplace.orgs.imports import VendorsImport
    from orders.ledger.imports import SalesImport

    url = args.database_url or CATALOGUE_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    print(f"load average at start: {load()} ({os.cpu_count()} CPUs)", flush=True)
    recreate_database(url)
    rng = random.Random(11)  # bench/pages.py's seed: the same catalogue
    vendors = max(20, args.products // 33)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark-only"})
    with app.app_context():
        upgrade()
        product_file, _names = products_csv(args.products, vendors, rng)
        files = [
            ("households", HouseholdsImport, households_csv(args.households, seed=1)),
            ("vendors", VendorsImport, vendors_csv(vendors, seed=1)),
            ("products (with stock)", ProductsImport, product_file),
            (
                "benefit-links",
                BenefitLinksImport,
                links_csv(args.products, args.households, args.links, rng),
            ),
            ("sales", SalesImport, sales_csv(args.sales, args.products, rng)),
        ]
        for label, importer, text in files:
            rows = text.count("\n") - 1
            data = text.encode("utf-8")
            profile = cProfile.Profile() if args.profile and importer is SalesImport else None
            started, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            summary = run_import(importer(), data)
            if profile:
                profile.disable()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"import {label:<22} {rows:>7} rows {seconds:7.2f} s  (python {cpu:6.2f} s CPU)"
                f"  load {load()}  [{summary.line()}]",
                flush=True,
            )
            if profile:
                profile.dump_stats(args.profile)
            db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    parser.add_argument("--households", type=int, help="default: 100,000 (20,000 with --sales)")
    parser.add_argument(
        "--sales", type=int, help="measure issue 15's targets, ending with this many sales rows"
    )
    parser.add_argument("--products", type=int, default=10_000, help="with --sales")
    parser.add_argument("--links", type=int, default=50_000, help="with --sales")
    parser.add_argument("--profile", help="with --sales: cProfile the sales import into FILE")
    parser.add_argument("--vendors", type=int, default=300)
    parser.add_argument("--reset", action="store_true", help="drop and recreate all tables first")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also report the Python heap peak per import (slows the imports down)",
    )
    args = parser.parse_args()
    if args.sales is not None:
        args.households = args.households or 20_000
        catalogue(args)
        return
    args.households = args.households or 100_000

    workdir = Path(tempfile.mkdtemp(prefix="mp-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ["DATABASE_URL"] = url  # load_config normalises postgres:// URLs
    os.environ.setdefault("SECRET_KEY", "benchmark-only")

    from sqlalchemy import func, inspect, select

    from marketplace import create_app
    from marketplace.bureau.imports import HouseholdsImport
    from marketplace.extensions import db
    from marketplace.models import Household, Organization
    from marketplace.orgs.imports import VendorsImport

    app = create_app()
    with app.app_context():
        if args.reset:
            db.drop_all()
        elif "households" in inspect(db.engine).get_table_names() and db.session.scalar(
            select(func.count(Household.id))
        ):
            sys.exit(f"{url} already holds households; use a fresh database or --reset")
        db.create_all()
        db.session.remove()

        files = {}
        started = time.perf_counter()
        for key, text in {
            "households": households_csv(args.households, seed=1),
            "households-changed": households_csv(args.households, seed=2),
            "vendors": vendors_csv(args.vendors, seed=1),
            "vendors-changed": vendors_csv(args.vendors, seed=2),
        }.items():
            path = workdir / f"{key}.csv"
            path.write_bytes(text.encode("gb18030"))
            files[key] = path
        size = files["households"].stat().st_size / 2**20
        print(f"database   {db.engine.url.render_as_string(hide_password=True)}")
        print(
            f"files      {workdir} (households.csv {size:.1f} MiB, GB18030; "
            f"generated in {time.perf_counter() - started:.1f} s)"
        )
        print(f"python     {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)

        for label, importer_class, key, rows in [
            ("households first", HouseholdsImport, "households", args.households),
            ("households re-import", HouseholdsImport, "households-changed", args.households),
            ("vendors first", VendorsImport, "vendors", args.vendors),
            ("vendors re-import", VendorsImport, "vendors-changed", args.vendors),
        ]:
            timed(label, importer_class(), files[key].read_bytes(), rows, args.tracemalloc)
            db.session.remove()

        households = db.session.scalar(select(func.count(Household.id)))
        vendors = db.session.scalar(select(func.count(Organization.id)))
        assert households == args.households, households
        assert vendors == args.vendors, vendors
        print(f"check      {households} households, {vendors} vendors in the database")
        db.session.remove()
        db.engine.dispose()
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
