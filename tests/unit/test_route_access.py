"""Every route, every role (issue 17, item 3).

One world is seeded for the module (tests/route_access_world.py: a citizen who owns an
order, its shipped part, an after-sales request, an address; another citizen; staff of the
owning vendor and of another; an agency's buyer and approver; a fair organizer; a
retailer's counter staff; a pick-up point's staff; the bureau), then:

- every GET route is asked for as each role and must answer what the table
  (tests/route_access_table.py) says, changing nothing in the database; a route missing
  from the table fails;
- every POST-only route answers 405 to a GET; every POST answers 400 without a CSRF token
  (the Stripe webhook excepted: Stripe signs it);
- every POST is refused to each role its class refuses (302 to log in, 403 or 404), and
  the database is left exactly as it was;
- every response carries the security headers (a CSP that allows no inline script and no
  framing, nosniff, a Referrer-Policy), HTML pages hold no inline script for that CSP to
  block, and a production app adds HSTS;
- the crawl: no page shows the citizen's delivery address to anyone but the citizen, the
  vendor who ships it and the bureau; no page, file or JSON any non-bureau role can reach
  shows a household's name or code. The households checked are the first 40 of the
  demo's register (the same codes and names ``flask demo load`` imports; the whole demo
  costs half a minute to load) and those the factories made, five of them linked to the
  world's products.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed

from marketplace import create_app
from marketplace.extensions import db, limiter

from ..conftest import TEST_PASSWORD, clean_database, fresh_request_state, make_test_config
from ..route_access_table import CLASSES, SHOWS_CODES, TABLE, expected
from ..route_access_world import (
    MISSING,
    PRIVATE_ADDRESS,
    PRIVATE_PHONE,
    ROLES,
    build_world,
)

# URL arguments that are not object ids
FILL = {
    "fmt": "csv",
    "name": "households",
    "token": "no-such-token",
    "code": "en",
    "decision": "reject",
    "kind": "households",
    "year": 2026,
    "filename": "css/app.css",
}
# arguments one endpoint needs other than the common ones
PER_ENDPOINT = {
    "orders.reports_dimension": {"name": "vendor"},
    "orders.household_benefits_export": {"name": "products"},
    "orders.organizer_fair_action": {"action": "close"},
    "orders.organizer_stall_decide": {"action": "refuse"},
    "orders.pickup_point_toggle": {"action": "deactivate"},
    "orders.procurement_step": {"action": "approve"},
    "orders.station_arrive": {"shipment_id": "pickup_shipment_id"},
}
# what a POST carries so that it reaches the access check (a form, JSON)
POST_DATA = {
    "orders.pay_test": {"data": {"token": "forged", "outcome": "success"}},
    "orders.stall_sale": {"json": "sale"},
    "orders.stall_void": {"json": {"reason": "录错了"}},
}
CSRF_ERROR = "表单已过期或无效"


@pytest.fixture(scope="module")
def world(app):
    with app.app_context():
        try:
            built = build_world()
        except Exception:
            db.session.rollback()
            clean_database()  # leave the next module an empty database, as promised
            raise
        finally:
            db.session.remove()
    yield built
    with app.app_context():
        clean_database()


@pytest.fixture(autouse=True)
def _app_context(app, world):
    """The module's tests share the world: no emptying of the database between them."""
    with app.app_context():
        limiter.reset()
        yield
        db.session.remove()


def url_for_rule(rule, world) -> str:
    values = {**FILL, **world.values}
    for arg, value in PER_ENDPOINT.get(rule.endpoint, {}).items():
        values[arg] = world.values.get(value, value) if isinstance(value, str) else value
    if rule.endpoint.startswith("orders.procurement_") and "order_id" in rule.arguments:
        values["order_id"] = world.values["procurement_order_id"]
    built = rule.build(
        {arg: values.get(arg, MISSING) for arg in rule.arguments}, append_unknown=False
    )
    assert built is not None, rule.rule
    return built[1]


def routes(app, method: str):
    """(endpoint, url) of every rule answering ``method`` (static files aside)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and rule.endpoint != "static"
    ]


def client_as(app, world, role: str):
    client = app.test_client()
    email = world.users[role]
    if email:
        response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302, f"{role} could not log in"
    return client


# --- security headers -------------------------------------------------------------------

INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def header_problems(response, where: str) -> list[str]:
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {
        part.strip().split(" ")[0]: part.strip() for part in csp.split(";") if part.strip()
    }
    script = directives.get("script-src", directives.get("default-src", ""))
    if not csp or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        problems.append(f"{where}: CSP missing or allows inline script: {csp!r}")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append(f"{where}: CSP lacks frame-ancestors 'none'")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") in (None, "", "unsafe-url"):
        problems.append(f"{where}: no Referrer-Policy")
    if response.mimetype == "text/html" and response.status_code == 200:
        page = response.get_data(as_text=True)
        if INLINE_SCRIPT.search(page) or INLINE_HANDLER.search(page):
            problems.append(f"{where}: inline script the CSP would block")
    return problems


# --- household names and codes --------------------------------------------------------


def text_of(response) -> str:
    """Everything a user receives: headers (a download's file name), body, and the
    sheets inside an XLSX."""
    data = response.get_data()
    parts = [str(response.headers), data.decode("utf-8", "ignore")]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            parts += [book.read(n).decode("utf-8", "ignore") for n in book.namelist()]
    return "".join(parts)


def households_shown(response, world, endpoint: str, role: str) -> list[str]:
    """The names, and codes unless ``role`` may see codes there, that the response shows."""
    text = text_of(response)
    marks = world.household_names
    if role not in SHOWS_CODES.get(endpoint, ()):
        marks = marks + world.household_codes
    return [mark for mark in marks if mark in text]


# --- the table is complete ---------------------------------------------------------------


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    missing = sorted(endpoints - set(TABLE))
    assert not missing, f"routes with no access entry in tests/route_access_table.py: {missing}"
    assert not sorted(set(TABLE) - endpoints), "table entries for routes that are gone"
    assert all(set(klass) == set(ROLES) for klass in CLASSES.values())


# --- GET: each role's status, the headers, the crawl ---------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_get_route_answers_each_role_as_the_table_says(app, world, role):
    client = client_as(app, world, role)
    before = snapshot()
    failures, seen_statuses, showing = [], set(), set()
    for rule in routes(app, "GET"):
        if expected(rule.endpoint) is None:
            continue  # reported by test_every_route_is_in_the_table
        klass, statuses = expected(rule.endpoint)
        url = url_for_rule(rule, world)
        response = client.get(url)
        seen_statuses.add(response.status_code)
        where = f"{role} GET {url} ({rule.endpoint}, {klass})"
        if response.status_code != statuses[role]:
            failures.append(f"{where}: {response.status_code}, expected {statuses[role]}")
        anonymous_sent = response.status_code == 302 and role == "anonymous"
        if anonymous_sent and statuses[role] == 302 and "/login" not in response.location:
            failures.append(f"{where}: sent to {response.location}, not to log in")
        failures += header_problems(response, where)
        if response.status_code == 200:
            shown = households_shown(response, world, rule.endpoint, role)
            if shown:
                showing.add(rule.endpoint)
            text = text_of(response)
            if PRIVATE_ADDRESS in text or PRIVATE_PHONE in text:
                showing.add(("address", rule.endpoint))
                if role not in ("citizen", "vendor", "bureau"):
                    failures.append(f"{where}: shows the citizen's delivery address")
            if shown and role != "bureau":
                failures.append(f"{where}: shows households {shown[:3]}")
        response.close()
    assert not failures, "\n".join(failures)
    after = snapshot()
    changed = sorted(name for name in before if before[name] != after[name])
    assert not changed, f"GETs as {role} changed {changed}"
    assert 200 in seen_statuses
    if role == "citizen":  # the crawl does find the address where it is shown
        assert ("address", "orders.order_detail") in showing
    if role == "bureau":  # the crawl does find the households where they are shown
        assert {"bureau.households", "bureau.household", "orders.watch_list"} <= showing


# --- POST: method, CSRF, refusal ------------------------------------------------------------


def test_state_changing_routes_refuse_get(app, world):
    client = app.test_client()
    failures = []
    adapter = app.url_map.bind("localhost")
    for rule in routes(app, "POST"):
        url = url_for_rule(rule, world)
        try:
            adapter.match(url, method="GET")
            continue  # a form, or a page at the same address: its GET is walked above
        except MethodNotAllowed:
            pass
        response = client.get(url)
        if response.status_code != 405:
            failures.append(f"GET {rule.rule}: {response.status_code}")
        failures += header_problems(response, f"GET {rule.rule}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def csrf_app(database_url, tmp_path_factory):
    config = make_test_config(database_url, tmp_path_factory.mktemp("routes-csrf"))
    config["WTF_CSRF_ENABLED"] = True
    app = create_app(config)
    fresh_request_state(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def csrf_login(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
    data = {"email": email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302


@pytest.mark.parametrize("role", ["anonymous", "citizen", "bureau"])
def test_every_post_needs_the_csrf_token(csrf_app, world, role):
    client = csrf_app.test_client()
    if world.users[role]:
        csrf_login(client, world.users[role])
    before = snapshot()
    failures = []
    for rule in routes(csrf_app, "POST"):
        url = url_for_rule(rule, world)
        with csrf_app.app_context():
            response = client.post(url, data={"x": "1"})
        refused = response.status_code == 400 and CSRF_ERROR in response.get_data(as_text=True)
        if rule.endpoint == "orders.stripe_webhook":
            # Stripe signs its calls instead: no CSRF token, refused for the signature
            if CSRF_ERROR in response.get_data(as_text=True) or response.status_code != 400:
                failures.append(f"{url}: the webhook answered {response.status_code}")
        elif not refused:
            failures.append(f"{role} POST {url} without a token: {response.status_code}")
        failures += header_problems(response, f"POST {url}")
    assert not failures, "\n".join(failures)
    assert snapshot() == before


REFUSED = (302, 403, 404)


def post_data(endpoint: str, world) -> dict:
    payload = POST_DATA.get(endpoint, {"data": {"x": "1"}})
    if payload.get("json") == "sale":
        line = {"product_id": world.values["product_id"], "quantity": 1}
        return {"json": {"token": "refused-1", "payment_method": "cash", "lines": [line]}}
    return payload


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (what "nothing changed" means)."""
    db.session.expire_all()
    rows = {
        table.name: sorted(map(tuple, db.session.execute(select(table)).all()), key=repr)
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return rows


@pytest.mark.parametrize("role", ROLES)
def test_each_post_is_refused_to_the_roles_its_class_refuses(app, world, role):
    client = client_as(app, world, role)
    before = snapshot()
    failures, tried = [], 0
    for rule in routes(app, "POST"):
        if expected(rule.endpoint) is None:
            continue
        klass, statuses = expected(rule.endpoint)
        want = statuses[role]
        if (
            want not in REFUSED
            or klass in ("PUBLIC", "GUEST", "TOKEN")
            or (want == 302 and role != "anonymous")
        ):
            continue  # this role may use it, or the class is not about roles
        url = url_for_rule(rule, world)
        response = client.post(url, **post_data(rule.endpoint, world))
        tried += 1
        where = f"{role} POST {url} ({rule.endpoint}, {klass})"
        if response.status_code != want:
            failures.append(f"{where}: {response.status_code}, expected {want}")
        elif want == 302 and "/login" not in response.location:
            failures.append(f"{where}: sent to {response.location}, not to log in")
        response.close()
    after = snapshot()
    changed = sorted(name for name in before if before[name] != after[name])
    assert not failures, "\n".join(failures)
    assert not changed, f"refused POSTs as {role} changed {changed}"
    assert tried or role == "bureau"


# --- HSTS in production ------------------------------------------------------------------


def test_production_sends_hsts_and_the_same_headers(database_url, tmp_path):
    config = make_test_config(database_url, tmp_path)
    config["APP_ENV"] = "production"
    production = create_app(config)
    with production.app_context():
        client = production.test_client()
        for url, status in (("/", 200), ("/account", 302), ("/no-such-page", 404)):
            response = client.get(url, base_url="https://localhost")
            assert response.status_code == status
            assert not header_problems(response, url)
            hsts = response.headers.get("Strict-Transport-Security", "")
            assert "max-age=" in hsts and int(re.search(r"max-age=(\d+)", hsts)[1]) >= 15552000
        db.session.remove()
        db.engine.dispose()
    # development and tests do not pin browsers to HTTPS
    assert "Strict-Transport-Security" not in app_response_headers(database_url, tmp_path)


def app_response_headers(database_url, tmp_path):
    development = create_app(make_test_config(database_url, tmp_path / "dev"))
    with development.app_context():
        headers = development.test_client().get("/", base_url="https://localhost").headers
        db.session.remove()
        db.engine.dispose()
    return headers
