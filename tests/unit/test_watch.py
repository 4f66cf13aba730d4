"""The at-risk watch (issue 16, item 3): red and yellow households with their attributed
income this year and last, none or falling first; filters, pages and exports; one click
to the certified products linked to a household and the vendors who could link it.
Bureau staff only, never stored by a browser."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from catalog.models import CertStatus
from marketplace.clock import local_today
from marketplace.models import OrgKind, Role
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale
from orders.reports import watch
from orders.reports.watch import WatchFilters

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, OrgFactory, TownFactory, VillageFactory, member_of


def _sale(household, amount_fen: int, day: date) -> None:
    """A counter sale of a product linked to ``household`` alone, on ``day``."""
    product = ProductFactory(price=amount_fen)
    CertificationFactory(product=product)
    BenefitLinkFactory(product=product, household=household)
    record_paid_sale(
        Channel.COUNTER, [SaleItem(product, 1, amount_fen)], sale_date=day, check_sellable=False
    )


@pytest.fixture
def register():
    today = local_today()
    this_year = date(today.year, 1, 1)
    last_year_early = date(today.year - 1, 1, 1)
    town = TownFactory(name="石岭镇")
    other_town = TownFactory(name="远山镇")
    a = VillageFactory(town=town, name="甲村")
    b = VillageFactory(town=town, name="乙村")
    c = VillageFactory(town=other_town, name="丙村")
    h = {
        "red_none": HouseholdFactory(code="W-01", head_name="红无收", risk_light="red", village=a),
        "yellow_none": HouseholdFactory(
            code="W-02", head_name="黄无收", risk_light="yellow", village=a
        ),
        "red_falling": HouseholdFactory(
            code="W-03", head_name="红下降", risk_light="red", village=b
        ),
        "yellow_up": HouseholdFactory(
            code="W-04", head_name="黄增长", risk_light="yellow", village=a
        ),
        "green": HouseholdFactory(code="W-05", head_name="绿灯户", risk_light="green", village=a),
        "red_far": HouseholdFactory(code="W-06", head_name="远方红", risk_light="red", village=c),
    }
    _sale(h["red_falling"], 100_000, last_year_early)
    _sale(h["red_falling"], 40_000, this_year)
    _sale(h["yellow_up"], 10_000, last_year_early)
    _sale(h["yellow_up"], 50_000, this_year)
    _sale(h["green"], 99_000, this_year)
    # late last year: in last year's total, not in "last year to the same day"
    if today != date(today.year, 12, 31):
        _sale(h["yellow_up"], 7_000, date(today.year - 1, 12, 31))
    return {"households": h, "town": town, "other_town": other_town, "villages": (a, b, c)}


@pytest.fixture
def bureau():
    return member_of(OrgKind.BUREAU, Role.STAFF)


def test_none_and_falling_come_first_green_never(register):
    rows = watch.watch_rows(WatchFilters(), local_today())
    assert [r.code for r in rows] == ["W-01", "W-06", "W-02", "W-03", "W-04"]
    by_code = {r.code: r for r in rows}
    assert by_code["W-01"].trend == watch.NONE and by_code["W-01"].this_year == 0
    falling = by_code["W-03"]
    assert (falling.this_year, falling.last_to_date, falling.last_year) == (
        40_000,
        100_000,
        100_000,
    )
    assert falling.trend == watch.FALLING
    up = by_code["W-04"]
    assert up.this_year == 50_000 and up.last_to_date == 10_000 and up.trend == watch.STEADY
    if local_today() != date(local_today().year, 12, 31):
        assert up.last_year == 17_000


def test_filters_by_light_and_town(register):
    today = local_today()
    reds = watch.watch_rows(WatchFilters(light="red"), today)
    assert [r.code for r in reds] == ["W-01", "W-06", "W-03"]
    in_town = watch.watch_rows(WatchFilters(town_id=register["town"].id), today)
    assert [r.code for r in in_town] == ["W-01", "W-02", "W-03", "W-04"]
    yellow_far = watch.watch_rows(
        WatchFilters(light="yellow", town_id=register["other_town"].id), today
    )
    assert yellow_far == []


def test_the_page_is_for_the_bureau_and_never_stored(client, auth, register, bureau):
    assert client.get("/bureau/watch").status_code == 302  # log in first
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN)
    auth.login(vendor.email)
    assert client.get("/bureau/watch").status_code == 403
    assert client.get("/bureau/watch/export.csv").status_code == 403
    h = register["households"]["red_none"]
    assert client.get(f"/bureau/watch/{h.id}").status_code == 403
    auth.logout()
    auth.login(bureau.email)
    response = client.get("/bureau/watch")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "红无收" in html and "绿灯户" not in html
    assert html.index("红无收") < html.index("红下降") < html.index("黄增长")
    assert f"/bureau/watch/{h.id}" in html


def test_the_page_filters_and_pages(app, client, auth, register, bureau, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    auth.login(bureau.email)
    first = client.get("/bureau/watch").get_data(as_text=True)
    assert "红无收" in first and "远方红" in first and "黄无收" not in first
    assert "第 1 / 3 页" in first
    third = client.get("/bureau/watch?page=3").get_data(as_text=True)
    assert "黄增长" in third and "红无收" not in third
    town = register["town"].id
    filtered = client.get(f"/bureau/watch?light=yellow&town={town}").get_data(as_text=True)
    assert "黄无收" in filtered and "黄增长" in filtered and "红无收" not in filtered
    # the export links keep the filters
    assert f"/bureau/watch/export.csv?light=yellow&amp;town={town}" in filtered
    empty = client.get(f"/bureau/watch?town={register['other_town'].id}&light=yellow")
    assert 'data-testid="empty-state"' in empty.get_data(as_text=True)


def test_exports_carry_the_rows_in_order(client, auth, register, bureau):
    auth.login(bureau.email)
    response = client.get("/bureau/watch/export.csv?light=red")
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["户编码", "户主", "风险灯"]
    assert [r[0] for r in rows[1:]] == ["W-01", "W-06", "W-03"]
    falling = rows[3]
    assert falling[5] == "400.00" and falling[6] == "1000.00" and falling[8] == "收入下降"
    xlsx = client.get("/bureau/watch/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    codes = [c.value for c in sheet["A"] if c.value and str(c.value).startswith("W-")]
    assert codes == ["W-01", "W-06", "W-02", "W-03", "W-04"]


def test_a_household_leads_to_its_products_and_vendors_who_could_link_it(
    client, auth, register, bureau
):
    h = register["households"]["red_none"]
    a, b, c = register["villages"]
    today = local_today()
    linked = ProductFactory(name="已关联的荔枝")
    CertificationFactory(product=linked, certificate_no="FP-LINKED-1")
    BenefitLinkFactory(product=linked, household=h)
    lapsed = ProductFactory(name="认定过期的笋干")
    CertificationFactory(
        product=lapsed,
        certified_on=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    BenefitLinkFactory(product=lapsed, household=h)
    same_village = OrgFactory(name="甲村合作社", contact_phone="13900000001")
    same_town = OrgFactory(name="乙村企业")
    far = OrgFactory(name="丙村合作社")
    unverified = OrgFactory(name="未认定主体")
    for org, village, certified in (
        (same_village, a, True),
        (same_town, b, True),
        (far, c, True),
        (unverified, a, False),
    ):
        product = ProductFactory(vendor=org, origin_village=village, name=f"{org.name}的产品")
        CertificationFactory(
            product=product, status=CertStatus.APPROVED if certified else CertStatus.PENDING
        )
    # the vendor of the linked product has it from this village: already linking, not listed
    linked.origin_village = a
    from marketplace.extensions import db

    db.session.commit()

    auth.login(bureau.email)
    response = client.get(f"/bureau/watch/{h.id}")
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    products = html[html.index('data-testid="linked-products"') :]
    products = products[: products.index("</table>")]
    assert products.index("已关联的荔枝") < products.index("认定过期的笋干")
    assert "FP-LINKED-1" in products and "当前未认定" in products
    vendors = html[html.index('data-testid="candidate-vendors"') :]
    vendors = vendors[: vendors.index("</table>")]
    assert vendors.index("甲村合作社") < vendors.index("乙村企业")
    assert "13900000001" in vendors
    assert "丙村合作社" not in vendors and "未认定主体" not in vendors
    assert "已关联的荔枝" not in vendors


def test_a_household_without_links_or_neighbours_says_so(client, auth, register, bureau):
    h = register["households"]["red_far"]
    auth.login(bureau.email)
    html = client.get(f"/bureau/watch/{h.id}").get_data(as_text=True)
    assert 'data-testid="no-links"' in html and 'data-testid="no-candidates"' in html
    assert client.get("/bureau/watch/999999").status_code == 404
