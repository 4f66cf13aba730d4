"""Faults while the shop runs under gunicorn on PostgreSQL:

- Redis stops: the shop keeps selling; the page cache and the rate limits degrade (pages
  rendered afresh, limits counted in memory), and the outage is logged;
- a worker is killed in the middle of checkouts: no order half-paid, no attribution
  without a payment; the reservations of orders it left unpaid expire and are released;
- one Stripe webhook delivered ten times at once pays the order once;
- PostgreSQL restarts: requests meanwhile are a clean 503, and the same server answers
  again once it is back (a private cluster, so no one else's database restarts).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from marketplace.clock import utcnow
from marketplace.extensions import db
from orders.ledger.models import Attribution, Order, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.expiry import expire_orders
from orders.shop.models import Payment, PaymentStatus

from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import UserFactory
from ..race import assert_ledger_matches_levels
from ..stock_helpers import warehouse_level
from ..unit.test_shop_core import address, stocked_product
from .live_server import LiveServer, concurrently, free_port
from .test_two_nodes import add_to_cart, buyer_with_address, check_out_and_pay

pytestmark = [requires_postgres, pytest.mark.postgres]

WEBHOOK_SECRET = "whsec_faults"


# ---------------------------------------------------------------- Redis stops


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen]]:
    """A Redis server of this test's own on a free port, so stopping it disturbs no one."""
    server = subprocess.run(["which", "redis-server"], capture_output=True, text=True)
    if server.returncode != 0:
        pytest.skip("needs redis-server to start a private Redis")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [server.stdout.strip(), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    import redis

    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.RedisError:
            time.sleep(0.1)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_the_shop_keeps_selling_when_redis_stops(app, database_url, private_redis, tmp_path):
    url, redis_process = private_redis
    product = stocked_product(4, price=1500)
    with LiveServer(
        database_url, workers=2, env={"REDIS_URL": url}, log_path=tmp_path / "gunicorn.log"
    ) as server:
        before = server.browser().login(buyer_with_address().email, TEST_PASSWORD)
        assert add_to_cart(before, product.id) and check_out_and_pay(before) == "paid"
        assert product.name in server.browser().get("/products").text

        redis_process.terminate()
        redis_process.wait(timeout=10)

        visitor = server.browser()
        for path in ("/", "/products", f"/products/{product.id}", "/impact"):
            assert visitor.get(path).status_code == 200, path
        after = server.browser().login(buyer_with_address().email, TEST_PASSWORD)
        assert add_to_cart(after, product.id) and check_out_and_pay(after) == "paid"
        log = server.log()

    assert "Traceback" not in log, log[-6000:]
    assert "page cache unavailable" in log  # the degradation is logged
    db.session.expire_all()
    assert warehouse_level(product.id).on_hand == 2
    assert_ledger_matches_levels()


# ---------------------------------------------------------------- a worker dies


def worker_pids(server: LiveServer) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
    ).stdout
    return [int(pid) for pid in found.split()]


def test_a_worker_killed_during_checkouts_leaves_no_half_paid_order(app, database_url, tmp_path):
    units, buyers = 6, 10
    product = stocked_product(units, price=880)
    with LiveServer(database_url, workers=3, log_path=tmp_path / "gunicorn.log") as server:
        browsers = []
        for _ in range(buyers):
            browser = server.browser().login(buyer_with_address().email, TEST_PASSWORD)
            assert add_to_cart(browser, product.id)
            browsers.append(browser)

        def checkout(browser) -> str:
            try:
                return check_out_and_pay(browser)
            except (requests.RequestException, AssertionError, StopIteration):
                return "interrupted"  # the worker serving it died

        def kill_one_worker() -> str:
            time.sleep(0.3)  # in the middle of the checkouts
            os.kill(worker_pids(server)[0], signal.SIGKILL)
            return "killed"

        outcomes = concurrently([partial(checkout, b) for b in browsers] + [kill_one_worker])
        assert outcomes[-1] == "killed"
        # gunicorn replaces the worker; the shop answers again
        assert server.browser().get("/healthz").status_code == 200

    db.session.expire_all()
    orders = db.session.scalars(select(Order).where(Order.total == 880)).all()
    paid = [o for o in orders if o.status == OrderStatus.PAID]
    pending = [o for o in orders if o.status == OrderStatus.PENDING_PAYMENT]
    assert len(paid) + len(pending) == len(orders)  # no third state: nothing half-done
    for order in orders:
        attributed = db.session.scalar(
            select(func.coalesce(func.sum(Attribution.amount), 0)).where(
                Attribution.order_id == order.id
            )
        )
        assert attributed == (order.total if order.status == OrderStatus.PAID else 0)
    level = warehouse_level(product.id)
    assert level.on_hand == units - len(paid)
    assert level.reserved == len(pending)  # held by unpaid orders, until they expire
    assert_ledger_matches_levels()

    # the unpaid ones expire and give their units back
    expire_orders(now=utcnow() + timedelta(hours=2))
    db.session.expire_all()
    assert warehouse_level(product.id).reserved == 0
    assert warehouse_level(product.id).on_hand == units - len(paid)
    assert_ledger_matches_levels()


# ---------------------------------------------------------------- webhooks


def signed(payload: bytes) -> str:
    timestamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_one_webhook_delivered_ten_times_at_once_pays_once(app, database_url, tmp_path):
    product = stocked_product(3, price=2000)
    order = place_order(UserFactory(), {product.id: 2}, address(), token="faults-webhook")
    db.session.add(
        Payment(order_id=order.id, provider="stripe", reference="pi_faults_1", amount=4000)
    )
    db.session.commit()
    payload = json.dumps(
        {
            "id": "evt_faults_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "object": "payment_intent",
                    "id": "pi_faults_1",
                    "amount": 4000,
                    "currency": "cny",
                    "status": "succeeded",
                    "payment_method_types": ["card"],
                }
            },
        }
    ).encode()
    env = {
        "STRIPE_SECRET_KEY": "sk_test_faults",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_faults",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # a closed port: Stripe is never asked
    }
    with LiveServer(database_url, workers=3, env=env, log_path=tmp_path / "gunicorn.log") as server:
        headers = {"Content-Type": "application/json", "Stripe-Signature": signed(payload)}
        deliveries = concurrently(
            [
                partial(
                    requests.post, server.url("/webhooks/stripe"), data=payload, headers=headers
                )
                for _ in range(10)
            ]
        )
        log = server.log()

    assert [r.status_code for r in deliveries] == [200] * 10, log[-4000:]
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PAID
    attributed = db.session.scalar(
        select(func.coalesce(func.sum(Attribution.amount), 0)).where(
            Attribution.order_id == order.id
        )
    )
    assert attributed == 4000
    assert db.session.get(Payment, order.payments[0].id).status == PaymentStatus.SUCCEEDED
    assert warehouse_level(product.id).on_hand == 1
    assert_ledger_matches_levels()


# ---------------------------------------------------------------- PostgreSQL restarts

PG_BIN = Path("/usr/lib/postgresql")


class PrivateCluster:
    """A PostgreSQL cluster of this test's own (initdb in a temporary folder, a free
    port), so restarting it disturbs no one else."""

    def __init__(self, root: Path):
        versions = sorted(PG_BIN.glob("*/bin/pg_ctl"))
        if not versions or os.geteuid() != 0 or not shutil.which("runuser"):
            pytest.skip("needs root and the PostgreSQL server binaries to run a private cluster")
        self.bin = versions[-1].parent
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        shutil.chown(root, "postgres")
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    # under /tmp itself: the postgres user cannot enter pytest's root-only folders
    root = Path(tempfile.mkdtemp(prefix="mp_pg_"))
    try:
        cluster = PrivateCluster(root)
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()  # unless the test left it stopped
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_requests_fail_cleanly_while_postgresql_restarts_and_recover_without_a_restart(
    private_postgres, tmp_path
):
    from marketplace import create_app

    from ..conftest import make_test_config

    own = create_app(make_test_config(private_postgres.url, tmp_path))
    with own.app_context():
        db.create_all()
        product = stocked_product(3, price=1200)
        product_id, name = product.id, product.name
        db.session.remove()
        db.engine.dispose()

    with LiveServer(private_postgres.url, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        visitor = server.browser()
        assert name in visitor.get(f"/products/{product_id}").text

        private_postgres.stop()
        during = [visitor.get(path) for path in ("/", "/products", f"/products/{product_id}")]
        health = visitor.get("/healthz")
        private_postgres.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the first requests may meet dead connections
            after = visitor.get(f"/products/{product_id}")
            if after.status_code == 200:
                break
            time.sleep(0.5)
        log = server.log()

    assert [r.status_code for r in during] == [503, 503, 503], log[-4000:]
    assert all("服务暂时不可用" in r.text for r in during)
    assert health.status_code == 503
    assert after.status_code == 200 and name in after.text  # the same server, recovered
    assert "database unavailable" in log
