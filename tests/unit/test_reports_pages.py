"""Report pages: bureau-only access, clear messages for bad periods, exports that carry
exactly the page's numbers, drill-down links, inline charts the CSP allows, the
household benefits page, and a public impact page without names, codes or small groups."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from marketplace.models import OrgKind, Role
from orders.reports import breakdowns, public
from orders.reports.breakdowns import Period
from orders.reports.summary import summary
from tests.factories import member_of

from .test_reports_breakdowns import build_ledger


class TableParser(HTMLParser):
    """The rows (cell texts) of each <table data-table=...> on a page, body and total."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name = None
        self._row = None
        self._cell = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "data-table" in attrs:
            self._pending = attrs["data-table"]
        elif tag == "table":
            self._name = attrs.get("data-table") or getattr(self, "_pending", None)
            self._pending = None
            if self._name:
                self.tables[self._name] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._name and not self._in_head:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag == "td" and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._name].append(self._row)
            self._row = None
        elif tag == "table":
            self._name = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = TableParser()
    parser.feed(html)
    return parser.tables


def plain(cell: str) -> str:
    """A page cell as the CSV writes it: no thousands separators."""
    return cell.replace(",", "")


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[list]:
    """The header and rows, under the heading row (the report and its period)."""
    sheet = load_workbook(io.BytesIO(data)).active
    heading, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "（" in heading[0] and heading[1:] == [None] * (len(heading) - 1)
    return rows


@pytest.fixture
def bureau(auth):
    user = member_of(kind=OrgKind.BUREAU, role=Role.STAFF)
    auth.login(user.email)
    return user


@pytest.fixture
def ledger():
    return build_ledger()


# -- access -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [OrgKind.COOPERATIVE, OrgKind.AGENCY])
def test_non_bureau_users_get_403(client, auth, ledger, kind):
    user = member_of(kind=kind, role=Role.ADMIN)
    auth.login(user.email)
    household = ledger.households["h1"]
    for url in (
        "/bureau/reports",
        "/bureau/reports/vendor",
        "/bureau/reports/households",
        "/bureau/reports/export/channels.csv",
        "/bureau/reports/export/households.xlsx",
        f"/bureau/households/{household.id}/benefits",
        f"/bureau/households/{household.id}/benefits/products.csv",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "甄秘密".encode() not in response.data


def test_anonymous_visitors_are_sent_to_log_in(client, ledger):
    response = client.get("/bureau/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    household = ledger.households["h1"]
    assert client.get(f"/bureau/households/{household.id}/benefits").status_code == 302


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2024-12-31&to=2024-01-01", "开始日期不能晚于结束日期"),
        ("from=yesterday", "开始日期格式应为 YYYY-MM-DD"),
        ("to=2024-02-30", "结束日期不是有效的日期"),
        ("from=%ff%fe&to=<script>", "格式应为 YYYY-MM-DD"),  # (a NUL is a 400 before any view)
    ],
)
def test_bad_period_gives_a_clear_message(client, bureau, ledger, query, message):
    for path in ("/bureau/reports", "/bureau/reports/product", "/bureau/reports/export/geo.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        page = response.get_data(as_text=True)
        assert message in page
        assert "<script>" not in page.split("<body", 1)[1].replace('<script src="', "")


# -- the dashboard and its exports -------------------------------------------------


def test_dashboard_shows_the_summary_and_charts(client, bureau, ledger):
    response = client.get("/bureau/reports")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    s = summary()
    assert 'data-figure="total_amount">303.33<' in page
    assert f'data-figure="households_driven">{s.households_driven}<' in page
    assert f'data-figure="person_times">{s.person_times}<' in page
    # two inline SVG charts, with channel names, and nothing the CSP would refuse
    assert page.count('class="pygal-chart mp-chart"') == 2
    assert "线上商城" in page and "单位采购" in page
    assert "<style" not in page and " style=" not in page
    assert re.search(r"<script(?! src=)", page) is None
    assert "pygal.org" not in page and "googleapis" not in page
    css = client.get("/reports/charts.css")
    assert css.status_code == 200 and "svg.mp-chart .color-0" in css.get_data(as_text=True)
    assert "Noto Sans CJK SC" in css.get_data(as_text=True)


def test_page_tables_add_up_to_the_summary(client, bureau, ledger):
    tables = page_tables(client.get("/bureau/reports").get_data(as_text=True))
    s = summary()
    channels = tables["channels"]
    assert channels[-1][0] == "合计"
    assert Decimal(plain(channels[-1][2])) * 100 == s.total_amount
    geo = tables["geo-district"]
    assert Decimal(plain(geo[-1][3])) * 100 == s.total_amount
    assert int(geo[-1][1]) == s.households_driven
    assert int(plain(geo[-1][2])) == s.person_times
    assert "未归属到户" in [row[0] for row in geo]


@pytest.mark.parametrize(
    "name",
    ["summary", "channels", "monthly", "geo", "vendor", "product", "fair", "agency", "counter"],
)
def test_exports_carry_the_page_numbers(client, bureau, ledger, name):
    query = "from=2023-01-01&to=2024-12-31"
    page_path = (
        "/bureau/reports" if name not in breakdowns.DIMENSIONS else f"/bureau/reports/{name}"
    )
    tables = page_tables(client.get(f"{page_path}?{query}").get_data(as_text=True))
    shown = tables["geo-district" if name == "geo" else name]
    assert shown, f"the page shows no {name} table"

    response = client.get(f"/bureau/reports/export/{name}.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    exported = csv_rows(response.data)
    assert exported[1:] == [[plain(cell) for cell in row] for row in shown]

    workbook = xlsx_rows(client.get(f"/bureau/reports/export/{name}.xlsx?{query}").data)
    assert [str(h) for h in workbook[0]] == exported[0]
    for xrow, crow in zip(workbook[1:], exported[1:], strict=True):
        for value, text in zip(xrow, crow, strict=True):
            if isinstance(value, (int, float)) and "." in text:
                assert Decimal(str(value)).quantize(Decimal("0.01")) == Decimal(text)
            else:
                assert ("" if value is None else str(value)) == text


def test_dimension_export_equals_the_breakdown_function(client, bureau, ledger):
    rows = breakdowns.dimension_rows("vendor", Period())
    exported = csv_rows(client.get("/bureau/reports/export/vendor.csv").data)
    assert exported[0][:3] == ["供应商", "编码", "销售额（元）"]
    assert [(r[0], Decimal(r[2])) for r in exported[1:]] == [
        (r.label, Decimal(r.amount) / 100) for r in rows
    ]
    assert sum(Decimal(r[2]) for r in exported[1:]) * 100 == summary().total_amount


def test_geo_drill_down_links_and_filters(client, bureau, ledger):
    east = ledger.districts["east"]
    page = client.get("/bureau/reports").get_data(as_text=True)
    assert f"/bureau/reports?district={east.id}#geo" in page

    towns_page = client.get(f"/bureau/reports?district={east.id}").get_data(as_text=True)
    towns = page_tables(towns_page)["geo-town"]
    assert sorted(row[0] for row in towns[:-1]) == ["东一镇", "东二镇"]
    assert "西一镇" not in [row[0] for row in towns]
    e1 = ledger.towns["e1"]
    assert f"/bureau/reports?town={e1.id}#geo" in towns_page

    villages = page_tables(client.get(f"/bureau/reports?town={e1.id}").get_data(as_text=True))
    assert sorted(row[0] for row in villages["geo-village"][:-1]) == ["乙村", "甲村"]
    exported = csv_rows(client.get(f"/bureau/reports/export/geo.csv?town={e1.id}").data)
    assert [r[0] for r in exported[1:]] == [row[0] for row in villages["geo-village"]]
    assert exported[-1][0] == "合计"
    assert exported[-1][3] == "130.00"
    assert client.get("/bureau/reports?district=999999").status_code == 404


def test_households_list_is_paginated_and_exports(client, bureau, ledger, app):
    app.config["PAGE_SIZE"] = 3
    try:
        first = page_tables(client.get("/bureau/reports/households").get_data(as_text=True))
        second = page_tables(client.get("/bureau/reports/households?page=2").get_data(as_text=True))
    finally:
        app.config["PAGE_SIZE"] = 20
    assert len(first["households"]) == 3 and len(second["households"]) == 1
    shown = first["households"] + second["households"]
    exported = csv_rows(client.get("/bureau/reports/export/households.csv").data)
    assert exported[1:] == [[plain(c) for c in row] for row in shown]
    by_code = {r[0]: r for r in exported[1:]}
    assert by_code["ZZCODE-001"][1:] == ["甄秘密", "东区东一镇甲村", "4", "2", "8", "65.00"]
    assert sum(int(r[5]) for r in exported[1:]) == summary().person_times


def test_household_benefits_page(client, bureau, ledger):
    h3 = ledger.households["h3"]
    household_page = client.get(f"/bureau/households/{h3.id}").get_data(as_text=True)
    assert f"/bureau/households/{h3.id}/benefits" in household_page

    response = client.get(f"/bureau/households/{h3.id}/benefits")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    tables = page_tables(page)
    assert tables["household-products"] == [
        ["富硒茶叶", "TEA", "48.89"],
        ["合计", "", "48.89"],
    ]
    assert tables["household-months"] == [
        ["2024-12", "富硒茶叶", "26.67"],
        ["2024-02", "富硒茶叶", "22.22"],
    ]
    assert 'class="pygal-chart mp-chart"' in page
    exported = csv_rows(client.get(f"/bureau/households/{h3.id}/benefits/months.csv").data)
    assert exported[1:] == tables["household-months"]
    only_feb = client.get(f"/bureau/households/{h3.id}/benefits?from=2024-02-01&to=2024-02-29")
    assert page_tables(only_feb.get_data(as_text=True))["household-months"] == [
        ["2024-02", "富硒茶叶", "22.22"]
    ]
    assert client.get("/bureau/households/999999/benefits").status_code == 404


def test_bureau_menu_links_to_reports(client, bureau):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/bureau/reports"' in page


# -- public ----------------------------------------------------------------------


def test_public_impact_page_shows_aggregates_only(client, ledger):
    response = client.get("/impact")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for h in ledger.households.values():
        assert h.head_name not in page
        assert h.code not in page
    assert "ZZCODE" not in page
    tables = page_tables(page)
    years = {row[0]: row for row in tables["years"]}
    # 2023: two households drove it, so no figure at all for that year; and 2024 is
    # withheld beside it, or the total minus 2024 would give 2023's figures
    assert years["2023"][1:] == ["—", "—", "—", "—"]
    assert years["2024"][1:] == ["—", "—", "—", "—"]
    channels = {row[0]: row for row in tables["channels"]}
    assert channels["线上商城"][1:] == ["—", "—", "—", "—"]  # every channel: two households
    assert "30.00" not in page  # the 2023 online amount: one pair of households
    assert "273.33" not in page  # 2024
    assert "303.33" in page  # the total, four households


def test_public_impact_hides_everything_under_three_households(client):
    from decimal import Decimal as D

    from orders.ledger.models import Channel
    from orders.ledger.services import SaleItem, record_paid_sale
    from tests.catalog_factories import BenefitLinkFactory, ProductFactory
    from tests.factories import HouseholdFactory

    product = ProductFactory(name="独户产品")
    BenefitLinkFactory(
        product=product,
        household=HouseholdFactory(head_name="唯一户主", code="ONLY-1"),
        weight=D(1),
    )
    from datetime import date

    record_paid_sale(
        Channel.ONLINE,
        [SaleItem(product, 1, 12345)],
        sale_date=date(2024, 3, 3),
        check_sellable=False,
    )
    page = client.get("/impact").get_data(as_text=True)
    assert "123.45" not in page and "唯一户主" not in page and "ONLY-1" not in page
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="impact-counter"' in home
    counter = home.split('data-testid="impact-counter"', 1)[1].split("</section>", 1)[0]
    assert "123.45" not in counter
    assert re.findall(r'class="stat-number">([^<]+)<', counter) == ["—"] * 4


def test_home_page_counter_and_nav_link(client, ledger):
    page = client.get("/").get_data(as_text=True)
    counter = page.split('data-testid="impact-counter"', 1)[1].split("</section>", 1)[0]
    assert "303.33" in counter  # total sales
    figures = public.headline()
    assert (figures.households, figures.person_times, figures.villages) == (4, 20, 4)
    numbers = re.findall(r'class="stat-number">([^<]+)<', counter)
    assert numbers == ["303.33", "4", "20", "4"]
    assert 'href="/impact"' in page and "帮扶成效" in page
