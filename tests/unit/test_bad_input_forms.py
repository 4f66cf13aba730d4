"""Hostile values in every form (issue 17, item 4).

Walks ``app.url_map``: for every rule that takes POST, the form's fields are read off the
page that shows it (inputs, selects and textareas of its POST forms, with their values as
a baseline), or, for a POST-only action, are every field of every ``FlaskForm`` of the app.
Hypothesis then replaces some of the fields with random text (emoji, control characters,
NUL, right-to-left marks, very long strings), SQL and HTML fragments, huge, negative,
decimal, NaN and infinite numbers, malformed dates and ids past BIGINT, and posts it as a
bureau admin, a vendor admin, a buyer (who owns an order), an agency buyer and a fair
organizer. Every answer is below 500, the ``<script>`` marker never comes back unescaped,
and an answer that is not a success (anything but a redirect) leaves every table's row
count as it was.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask_wtf import FlaskForm
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.routing import AnyConverter

from marketplace.accounts.services import save_address
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.shop.checkout import place_order
from orders.shop.models import PickupKind, PickupPoint
from orders.shop.payment import complete_payment, start_payment

from ..conftest import TEST_PASSWORD
from ..factories import HouseholdFactory, MembershipFactory, UserFactory, member_of
from .bad_input import FUZZ, SCRIPT, row_counts, value
from .test_shop_checkout import NEW_ADDRESS
from .test_shop_core import address, stocked_product

PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# ends the walk's session, or is a webhook (JSON, tests in test_bad_input_json.py)
SKIP = {"auth.logout", "auth.logout_everywhere", "orders.stripe_webhook"}
LAST = {"auth.delete_account", "auth.change_password"}
# actions that remove what later routes need: after the others
DESTROYS = ("delete", "remove", "cancel", "void", "reject", "refuse")
# tables a refused request may still write: the audit of a refusal, a login attempt
MAY_WRITE_ON_REFUSAL = {"audit_log", "login_attempts"}


class FormFields(HTMLParser):
    """``[(action, {name: value})]`` of the page's POST forms."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._fields = {}
            self.forms.append((a.get("action", ""), self._fields))
        if self._fields is None or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self._fields.setdefault(a["name"], "")
                return
            if a.get("type") == "file":
                return
            self._fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self._fields[a["name"]] = ""
        elif tag == "option" and self._select and not self._fields[self._select]:
            self._fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._fields[a["name"]] = ""

    def handle_data(self, data):
        if self._textarea and self._fields is not None:
            self._fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def every_form_field() -> set[str]:
    names: set[str] = set()
    todo = list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        names.update(name for name, _ in getattr(cls, "_unbound_fields", None) or [])
        names.update(name for name in dir(cls) if hasattr(getattr(cls, name, None), "field_class"))
    return names - {"csrf_token"}


@pytest.fixture
def world():
    product = stocked_product(50)
    vendor = MembershipFactory(org=product.vendor, role=Role.ADMIN)
    bureau = member_of(kind=OrgKind.BUREAU, role=Role.ADMIN)
    agency = member_of(kind=OrgKind.AGENCY, role=Role.ADMIN)
    organizer = member_of(kind=OrgKind.FAIR_ORGANIZER, role=Role.ADMIN)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), token="bad-input-order")
    complete_payment("test", start_payment(order).reference)
    point = PickupPoint(name="服务站", kind=PickupKind.TOWN_CENTRE, district="秀英区")
    point.town, point.address = "长流镇", "长流镇政府旁"
    db.session.add(point)
    db.session.commit()
    saved = save_address(buyer, {**NEW_ADDRESS, "is_default": True})
    known = {
        "product_id": product.id,
        "cert_id": product.certifications[0].id,
        "order_id": order.id,
        "shipment_id": order.shipments[0].id if order.shipments else 1,
        "household_id": HouseholdFactory().id,
        "org_id": product.vendor_id,
        "vendor_id": product.vendor_id,
        "agency_id": agency.memberships[0].org_id,
        "point_id": point.id,
        "membership_id": vendor.id,
        "address_id": saved.id,
    }
    users = {
        "bureau": bureau.email,
        "vendor": vendor.user.email,
        "buyer": buyer.email,
        "agency": agency.email,
        "organizer": organizer.email,
    }
    return {"users": users, "known": known}


def who_for(rule: str) -> list[str]:
    if rule.startswith(("/bureau", "/procurement/bureau")):
        return ["bureau"]
    if rule.startswith("/vendor"):
        return ["vendor"]
    if rule.startswith("/procurement"):
        return ["agency"]
    if rule.startswith(("/organizer", "/retailer")):
        return ["organizer"]
    if rule.startswith(("/login", "/register", "/password")):
        return ["anonymous"]
    return ["buyer", "vendor"]


def path_of(rule, known: dict[str, int]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)[0]
        if name == "year":
            return "2025"
        if name in known:
            return str(known[name])
        return "zh_CN" if name == "code" else ("x" if name in ("token", "action") else "1")

    return PARAM.sub(fill, rule.rule)


def fields_of(client, rule, path: str, fallback: set[str]) -> dict[str, str]:
    if "GET" in rule.methods:
        response = client.get(path)
        if response.status_code == 200:
            parser = FormFields()
            parser.feed(response.get_data(as_text=True))
            forms = [f for a, f in parser.forms if a in ("", path) and f]
            if forms:
                return {k: v for k, v in forms[0].items() if k != "csrf_token"}
    return dict.fromkeys(sorted(fallback), "")


def login(client, email: str | None) -> None:
    if email is not None:
        response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302


def post_rules(app):
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and r.endpoint not in SKIP and r.endpoint != "static"
    ]
    return sorted(
        rules, key=lambda r: (r.endpoint in LAST, any(w in r.endpoint for w in DESTROYS), r.rule)
    )


def fuzz(client, who: str, path: str, form):
    """A Hypothesis test posting ``form`` to ``path`` with ``client``."""

    @FUZZ
    @given(data=form)
    def check(data):
        before = row_counts()
        response = client.post(path, data=data)
        after = row_counts()
        where = f"{who} POST {path} {data!r}"[:600]
        assert response.status_code < 500, where
        assert SCRIPT not in response.get_data(as_text=True), where
        if response.status_code not in (301, 302, 303):
            changed = {
                t: (before[t], after[t])
                for t in before
                if before[t] != after[t] and t not in MAY_WRITE_ON_REFUSAL
            }
            assert not changed, f"{where}: {response.status_code}, wrote {changed}"

    return check


def test_every_form_answers_hostile_values_cleanly_and_writes_nothing_when_refused(app, world):
    fallback = every_form_field()
    failures: list[str] = []
    for rule in post_rules(app):
        for who in who_for(rule.rule):
            client = app.test_client()
            login(client, world["users"].get(who))
            path = path_of(rule, world["known"])
            baseline = fields_of(client, rule, path, fallback)
            form = st.fixed_dictionaries(
                {name: st.one_of(st.just(default), value) for name, default in baseline.items()}
            )

            check = fuzz(client, who, path, form)
            try:
                check()
            except AssertionError as exc:
                failures.append(str(exc)[:1500])
    assert failures == [], "\n\n".join(failures)


def test_a_nul_character_in_a_form_or_query_is_400_and_writes_nothing(app, world):
    """PostgreSQL refuses NUL in text ("text fields cannot contain NUL"): the shipment
    form once answered 500 there; every request with one is now refused first."""
    client = app.test_client()
    login(client, world["users"]["vendor"])
    before = row_counts()
    order_id = world["known"]["order_id"]
    response = client.post(
        f"/vendor/orders/{order_id}/ship", data={"carrier": "顺丰", "tracking_no": "SF\x001"}
    )
    assert response.status_code == 400
    assert row_counts() == before
    assert client.get("/products", query_string={"q": "荔枝\x00"}).status_code == 400
    assert client.get("/products", query_string={"q": "荔枝"}).status_code == 200
