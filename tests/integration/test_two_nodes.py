"""Two app nodes on one PostgreSQL and one Redis, as a city runs the shop behind a load
balancer: two gunicorn servers on two 127.0.0.1 ports, each with its own workers, sharing
nothing but the database and Redis. A buyer's requests land on either node:

- a cart built on one node checks out and pays on the other;
- the log-in rate limit counts failures on both nodes together;
- the public product list cached on both is dropped on both when a product changes;
- buyers checking out at once, spread over both nodes, never oversell.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

import pytest
import redis
from sqlalchemy import func, select

from marketplace.accounts.services import save_address
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.ledger.models import Order, OrderStatus

from ..catalog_factories import CertificationFactory
from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import UserFactory, member_of
from ..race import assert_ledger_matches_levels
from ..stock_helpers import warehouse_level
from ..unit.test_shop_core import stocked_product
from .live_server import Browser, LiveServer, concurrently, inputs, value

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, emptied around the test
LOGIN_LIMIT = 4


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("two nodes share Redis: none answers on 127.0.0.1:6379")
    return client


@pytest.fixture(scope="module")
def nodes(app, database_url, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    shared = _redis_or_skip()
    shared.flushdb()
    env = {
        "REDIS_URL": REDIS_URL,
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per 5 minutes",
        "LOGIN_EMAIL_RATE_LIMIT": "1000 per hour",
    }
    logs = tmp_path_factory.mktemp("two_nodes")
    first = LiveServer(database_url, workers=2, env=env, log_path=logs / "a.log").start()
    try:
        second = LiveServer(database_url, workers=2, env=env, log_path=logs / "b.log").start()
    except Exception:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()
        shared.flushdb()


pytestmark = [requires_postgres, pytest.mark.postgres]


def on(node: LiveServer, browser: Browser) -> Browser:
    """The same browser (cookies, CSRF token) with its next request routed to ``node``."""
    moved = browser.clone()
    moved.base_url = node.base_url
    return moved


def buyer_with_address():
    user = UserFactory()
    save_address(
        user,
        {
            "recipient": "李市民",
            "phone": "13800000000",
            "province": "海南省",
            "city": "海口市",
            "district": "龙华区",
            "detail": "滨海大道1号",
        },
    )
    return user


def check_out_and_pay(browser: Browser) -> str:
    """Checkout with the saved address and pay with the test gateway; the outcome."""
    checkout = browser.get("/checkout")
    if "/checkout" not in checkout.url:
        return "refused_at_checkout"
    page = checkout.text
    address = next(a for a in inputs(page, "address_id") if a["checked"])["value"]
    placed = browser.post(
        "/checkout",
        {
            "csrf_token": value(page, "csrf_token"),
            "token": value(page, "token"),
            "delivery_method": "address",
            "address_id": address,
        },
        allow_redirects=True,
    )
    found = re.search(r"/orders/(\d+)/pay$", placed.url)
    if found is None:
        return "out_of_stock"
    paid = browser.post(
        f"/orders/{found.group(1)}/pay/test",
        {"token": value(placed.text, "token"), "outcome": "success"},
        allow_redirects=True,
    )
    assert "付款成功" in paid.text, paid.text[-2000:]
    return "paid"


def add_to_cart(browser: Browser, product_id: int, quantity: int = 1) -> bool:
    page = browser.post(
        "/cart/add",
        {"product_id": product_id, "quantity": quantity, "next": "/cart"},
        allow_redirects=True,
    ).text
    return "已加入购物车" in page


def assert_no_server_errors(*nodes: LiveServer) -> None:
    for node in nodes:
        assert "Traceback" not in node.log(), node.log()[-6000:]


def test_a_cart_built_on_one_node_checks_out_on_the_other(nodes):
    first, second = nodes
    product = stocked_product(3, price=1280)
    user = buyer_with_address()
    browser = first.browser().login(user.email, TEST_PASSWORD)
    assert add_to_cart(browser, product.id, 2)

    elsewhere = on(second, browser)
    assert product.name in elsewhere.get("/cart").text
    assert check_out_and_pay(elsewhere) == "paid"

    db.session.expire_all()
    order = db.session.scalars(select(Order).where(Order.buyer_user_id == user.id)).one()
    assert order.status == OrderStatus.PAID and order.total == 2 * 1280
    assert warehouse_level(product.id).on_hand == 1
    assert_no_server_errors(first, second)


def test_the_login_rate_limit_counts_failures_on_both_nodes_together(nodes):
    first, second = nodes
    user = UserFactory()

    def fail(node: LiveServer) -> int:
        visitor = node.browser()
        page = visitor.get("/login").text
        return visitor.session.post(
            node.url("/login"),
            data={
                "email": user.email,
                "password": "wrong",
                "csrf_token": value(page, "csrf_token"),
            },
            timeout=30,
        ).status_code

    try:
        statuses = [fail(first if i % 2 == 0 else second) for i in range(LOGIN_LIMIT)]
        assert statuses == [200] * LOGIN_LIMIT  # the form again, with its message
        # the limit is spent on the two nodes together: the next attempt fails on either
        assert fail(first) == 429
        assert fail(second) == 429
    finally:  # the other tests log in from the same address
        redis.Redis.from_url(REDIS_URL).flushdb()


def test_the_public_list_cached_on_both_nodes_is_dropped_on_both_when_a_product_changes(nodes):
    first, second = nodes
    cert = CertificationFactory(product__name="两院试验田荔枝")
    query = "/products?q=" + "试验田"
    assert "两院试验田荔枝" in first.browser().get(query).text  # rendered and cached
    cert.product.name = "悄悄改名"  # behind the services' back: nothing is invalidated
    db.session.commit()
    for node in (first, second):  # both serve the one cached body from Redis
        assert "两院试验田荔枝" in node.browser().get(query).text
    cert.product.name = "两院试验田荔枝"
    db.session.commit()

    reviewer = member_of(OrgKind.BUREAU, Role.ADMIN)
    bureau = first.browser().login(reviewer.email, TEST_PASSWORD)
    page = bureau.get(f"/bureau/certifications/{cert.id}").text
    decided = bureau.post(
        f"/bureau/certifications/{cert.id}/suspend",
        {"csrf_token": value(page, "csrf_token"), "reason": "抽检不合格"},
        allow_redirects=True,
    )
    assert "已暂停" in decided.text

    for node in (first, second):
        assert "两院试验田荔枝" not in node.browser().get(query).text
    assert_no_server_errors(first, second)


def test_buyers_checking_out_at_once_over_both_nodes_never_oversell(nodes):
    first, second = nodes
    units, buyers = 5, 12
    product = stocked_product(units, price=990)
    browsers = []
    for i in range(buyers):
        node = first if i % 2 == 0 else second
        browser = node.browser().login(buyer_with_address().email, TEST_PASSWORD)
        assert add_to_cart(browser, product.id)
        browsers.append(browser)

    outcomes = concurrently([partial(check_out_and_pay, b) for b in browsers])

    assert outcomes.count("paid") == units
    assert set(outcomes) <= {"paid", "out_of_stock", "refused_at_checkout"}
    db.session.expire_all()
    level = warehouse_level(product.id)
    assert (level.on_hand, level.reserved) == (0, 0)
    paid = db.session.scalar(
        select(func.count(Order.id)).where(Order.status == OrderStatus.PAID, Order.total == 990)
    )
    assert paid == units
    assert_ledger_matches_levels()
    assert_no_server_errors(first, second)
