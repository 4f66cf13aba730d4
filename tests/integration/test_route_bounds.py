"""No 500 from ids or dates beyond what the database holds (issue 9, item 12).

Walks every rule of ``app.url_map``: each integer parameter gets 2**31 (past INTEGER),
2**63 (past BIGINT), 2**64 and, where the converter allows it, -1; every route is also
tried with real ids; GET routes with huge query parameters (``?village=2**63``,
``?from=0001-01-01&to=9999-12-31``) and POST routes with huge form fields
(``product_id``, ``address_id``, ``location_id`` ...). Anonymous, as a bureau admin and
as a vendor admin: every answer must be below 500. On PostgreSQL (TEST_DATABASE_URL) an
id past INTEGER is "integer out of range"; on SQLite, one past 2**63 overflows.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from marketplace.accounts.services import save_address
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.shop.checkout import place_order
from orders.shop.models import PickupKind, PickupPoint
from orders.shop.payment import complete_payment, start_payment

from ..conftest import TEST_PASSWORD
from ..factories import HouseholdFactory, MembershipFactory, UserFactory, member_of
from ..unit.test_shop_checkout import NEW_ADDRESS
from ..unit.test_shop_core import address, stocked_product

HUGE = [2**31, 2**63, 2**64]
PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
SKIP = {"static", "auth.logout"}  # files on disk; logging out ends the walk's session


def huge_query(n: int) -> dict[str, str]:
    return {
        **{
            name: str(n)
            for name in (
                "page",
                "village",
                "town",
                "district",
                "category",
                "product",
                "household",
                "order",
                "org",
                "vendor",
                "location",
                "status",
                "kind",
            )
        },
        "from": "0001-01-01",
        "to": "9999-12-31",
        "q": str(n),
        "next": f"/products/{n}",
    }


def huge_form(n: int) -> dict[str, str]:
    form = {
        name: str(n)
        for name in (
            "product_id",
            "address_id",
            "pickup_point_id",
            "location_id",
            "category_id",
            "origin_village_id",
            "village_id",
            "household_id",
            "org_id",
            "quantity",
            "members",
            "min_order_qty",
            "low_threshold",
            "qty-1",
            "price",
            "amount",
        )
    }
    form.update(
        {
            **{k: v for k, v in NEW_ADDRESS.items() if k != "address_id"},
            "token": "walk-token-0123456789",
            "mode": "delta",
            "reason": "damaged",
            "outcome": "success",
            "next": f"/orders/{n}",
        }
    )
    return form


@pytest.fixture
def world():
    """Something behind every kind of id: a vendor with a certified, stocked product, a
    paid order of it, a household, a pick-up point, an address of the bureau admin."""
    product = stocked_product(50)
    vendor = MembershipFactory(org=product.vendor, role=Role.ADMIN)
    bureau = member_of(kind=OrgKind.BUREAU, role=Role.ADMIN)
    order = place_order(UserFactory(), {product.id: 1}, address(), token="walk-order")
    complete_payment("test", start_payment(order).reference)
    point = PickupPoint(name="服务站", kind=PickupKind.TOWN_CENTRE, district="秀英区")
    point.town, point.address = "长流镇", "长流镇政府旁"
    db.session.add(point)
    db.session.commit()
    saved = save_address(bureau, {**huge_form(1), "is_default": True})
    known = {
        "product_id": product.id,
        "cert_id": product.certifications[0].id,
        "order_id": order.id,
        "household_id": HouseholdFactory().id,
        "org_id": product.vendor_id,
        "vendor_id": product.vendor_id,
        "point_id": point.id,
        "membership_id": vendor.id,
        "address_id": saved.id,
    }
    return {"vendor": vendor.user.email, "bureau": bureau.email, "known": known}


def paths(rule, known: dict[str, int]) -> list[str]:
    """The rule's URL with every integer parameter set to each huge value (and -1 where
    allowed), and once with real ids; other parameters get a value they accept."""
    ints = {
        name
        for name, converter in rule._converters.items()
        if isinstance(converter, IntegerConverter)
    }
    signed = any(rule._converters[name].signed for name in ints)

    def build(int_value) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            converter = rule._converters[name]
            if name in ints:
                return str(int_value(name))
            if isinstance(converter, AnyConverter):
                return sorted(converter.items)[0]
            return "zh_CN" if name == "code" else "x"

        return PARAM.sub(value, rule.rule)

    found = [build(lambda name: known.get(name, 1))]
    if ints:
        found += [build(lambda name, n=n: n) for n in HUGE + ([-1] if signed else [])]
    return found


def login(client, email: str | None) -> None:
    if email is not None:
        response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302


@pytest.mark.parametrize("who", ["anonymous", "bureau", "vendor"])
def test_no_route_answers_5xx_to_out_of_range_ids_or_dates(app, world, who):
    email = world.get(who)
    failures = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP:
            continue
        client = app.test_client()  # a fresh session for each route
        login(client, email)
        for path in paths(rule, world["known"]):
            for n in (2**31, 2**63):
                if "GET" in rule.methods:
                    for query in ({}, huge_query(n)):
                        response = client.get(path, query_string=query)
                        if response.status_code >= 500:
                            failures.append(f"GET {path} {query or ''} -> {response.status_code}")
                if "POST" in rule.methods:
                    response = client.post(path, data=huge_form(n))
                    if response.status_code >= 500:
                        failures.append(f"POST {path} ({n}) -> {response.status_code}")
    assert failures == []


def test_an_id_past_the_column_is_404_in_the_url(client):
    assert client.get(f"/products/{2**31}").status_code == 404
    assert client.get(f"/products/{2**63}").status_code == 404
    assert client.get("/products/-1").status_code == 404
    assert client.get(f"/vendors/{2**31}").status_code == 404
