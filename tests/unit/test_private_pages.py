"""Pages that show a household's name or code are never stored by a browser or a proxy
(issue 9, item 15): every route, walked as bureau staff and as a vendor, that answers
with a household's name or code sends ``Cache-Control: no-store`` and ``Pragma:
no-cache``; public pages are not forced to no-store."""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import pytest

from catalog.certification import CertificationApplication, apply_for_certification
from marketplace.bureau.services import update_household
from marketplace.models import OrgKind, Role
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale
from orders.policy.assessments import record_assessment
from tests.catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from tests.factories import HouseholdFactory, VillageFactory, member_of

CODE, NAME = "NOSTORE-HH-1", "缓存秘名"

# every route that shows a household today: the walk must meet each of them
PERSONAL = {
    "bureau.households",
    "bureau.household",
    "bureau.audit_log",
    "bureau.audit_export",
    "catalog.certification_review",
    # the household picker of the vendor's application: its own town's codes
    "catalog.vendor_certify",
    "catalog.vendor_household_search",
    "orders.reports_households",
    "orders.reports_export",
    "orders.household_benefits",
    "orders.household_benefits_export",
    "orders.reward_households_file",
    "orders.watch_list",
    "orders.watch_household",
    "orders.watch_export",
}


@pytest.fixture
def world():
    village = VillageFactory(name="缓存村")
    bureau = member_of(OrgKind.BUREAU, Role.ADMIN)
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, village=village)
    org = vendor.memberships[0].org
    household = HouseholdFactory(code=CODE, head_name=NAME, village=village)
    others = [HouseholdFactory(village=village) for _ in range(2)]
    product = CertificationFactory(product=ProductFactory(vendor=org)).product
    for h in (household, *others):
        BenefitLinkFactory(product=product, household=h, weight=Decimal(1))
    order = record_paid_sale(
        Channel.ONLINE,
        [SaleItem(product, 1, 3000)],
        sale_date=date.today(),
        check_sellable=False,
    )
    pending = ProductFactory(vendor=org)
    cert = apply_for_certification(
        vendor,
        org,
        pending.id,
        CertificationApplication(
            benefit_mode="purchase",
            households=[(CODE, Decimal(1))],
            expected_annual_value=0,
            test_report_file="0123456789abcdef0123456789abcdef.pdf",
            test_report_valid_until=date.today() + timedelta(days=100),
        ),
    )
    update_household(
        bureau,
        bureau.memberships[0].org,
        household.id,
        status="poor",
        risk_light="red",
        reason=f"{NAME}家因病返贫",
    )
    # an assessed income that reaches a reward tier: the year's reward list shows it
    record_assessment(
        bureau,
        bureau.memberships[0].org,
        household_code=CODE,
        year=date.today().year,
        net_income=1_000_000,
    )
    return {
        "bureau": bureau,
        "vendor": vendor,
        "values": {
            "household_id": [household.id],
            "cert_id": [cert.id],
            "order_id": [order.id],
            "product_id": [product.id, pending.id],
            "vendor_id": [org.id],
            "org_id": [org.id],
            "name": ["households", "summary", "vendor", "products", "months"],
            "fmt": ["csv", "xlsx"],
            "year": [date.today().year],
            "kind": ["households", "vendors"],
        },
    }


def shows_a_household(response) -> bool:
    """The household's name or code anywhere in the response: its headers (a download's
    file name), its text, or the files inside an XLSX."""
    parts = [str(response.headers), response.get_data().decode("utf-8", "ignore")]
    if response.get_data().startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as xlsx:
            parts += [xlsx.read(n).decode("utf-8", "ignore") for n in xlsx.namelist()]
    text = "".join(parts)
    return CODE in text or NAME in text


def get_urls(app, values: dict) -> list[tuple[str, str]]:
    """(endpoint, url) for every GET route whose arguments we can fill."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "main.set_language"):
            continue
        if any(arg not in values for arg in rule.arguments):
            continue
        names = sorted(rule.arguments)
        for combo in itertools.product(*(values[n] for n in names)):
            try:
                built = rule.build(dict(zip(names, combo, strict=True)), append_unknown=False)
            except ValueError:  # not one of the values an <any(...)> part allows
                continue
            if built is not None:
                urls.append((rule.endpoint, built[1]))
    return urls


def assert_not_stored(response, what: str) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), what
    assert response.headers.get("Pragma") == "no-cache", what


def test_every_route_showing_a_household_sends_no_store(app, client, auth, world):
    seen = set()
    for user in (world["bureau"], world["vendor"]):
        auth.login(user.email)
        for endpoint, url in get_urls(app, world["values"]):
            response = client.get(url)
            if response.status_code == 200 and shows_a_household(response):
                assert_not_stored(response, url)
                seen.add(endpoint)
            response.close()
        auth.logout()
    assert seen == PERSONAL


def test_a_refused_application_shows_its_codes_and_is_not_stored(client, auth, world):
    auth.login(world["vendor"].email)
    product_id = world["values"]["product_id"][0]
    response = client.post(
        f"/vendor/products/{product_id}/certify", data={"households": f"{CODE}\nNOPE-1"}
    )
    assert response.status_code == 200 and CODE in response.get_data(as_text=True)
    assert_not_stored(response, "certify")


def test_the_household_import_page_is_not_stored(client, auth, world):
    auth.login(world["bureau"].email)
    data = f"household_code,head_name,members\n{CODE},{NAME},0\n".encode()
    form = {"kind": "households", "file": (io.BytesIO(data), "h.csv"), "encoding": ""}
    response = client.post("/bureau/imports", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    assert_not_stored(response, "imports")


def test_public_pages_are_not_forced_to_no_store(client, world):
    product_id = world["values"]["product_id"][0]
    vendor_id = world["values"]["vendor_id"][0]
    for url in ("/", "/products", f"/products/{product_id}", f"/vendors/{vendor_id}", "/notices"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not shows_a_household(response), url
        assert "no-store" not in response.headers.get("Cache-Control", ""), url
        assert "Pragma" not in response.headers, url
    response = client.get("/impact")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
