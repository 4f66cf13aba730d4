"""Report breakdowns: every table adds up to the summary, the place drill-down filters
by district and town, the households list and one household's benefits are exact, and
the public figures hide groups of fewer than three households."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from marketplace.extensions import db
from marketplace.models import OrgKind
from orders.fairs.models import Fair
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale, refund
from orders.reports import breakdowns, public
from orders.reports import households as household_reports
from orders.reports.breakdowns import Period
from orders.reports.summary import CHANNELS, summary
from tests.catalog_factories import BenefitLinkFactory, ProductFactory
from tests.factories import (
    DistrictFactory,
    HouseholdFactory,
    OrgFactory,
    TownFactory,
    VillageFactory,
)


@dataclass
class Ledger:
    """A small hand-made ledger over two districts, three towns, four villages."""

    districts: dict
    towns: dict
    villages: dict
    households: dict
    products: dict
    vendors: dict
    fair: Fair


def build_ledger() -> Ledger:
    east, west = DistrictFactory(name="东区"), DistrictFactory(name="西区")
    towns = {
        "e1": TownFactory(district=east, name="东一镇"),
        "e2": TownFactory(district=east, name="东二镇"),
        "w1": TownFactory(district=west, name="西一镇"),
    }
    villages = {
        "a": VillageFactory(town=towns["e1"], name="甲村"),
        "b": VillageFactory(town=towns["e1"], name="乙村"),
        "c": VillageFactory(town=towns["e2"], name="丙村"),
        "d": VillageFactory(town=towns["w1"], name="丁村"),
    }
    households = {
        "h1": HouseholdFactory(
            code="ZZCODE-001", head_name="甄秘密", members=4, village=villages["a"]
        ),
        "h2": HouseholdFactory(
            code="ZZCODE-002", head_name="贾隐私", members=2, village=villages["b"]
        ),
        "h3": HouseholdFactory(
            code="ZZCODE-003", head_name="石保密", members=5, village=villages["c"]
        ),
        "h4": HouseholdFactory(
            code="ZZCODE-004", head_name="柳不露", members=3, village=villages["d"]
        ),
    }
    vendors = {
        "x": OrgFactory(name="红星合作社", code="V-X", kind=OrgKind.COOPERATIVE),
        "y": OrgFactory(name="青山农业公司", code="V-Y", kind=OrgKind.ENTERPRISE),
    }
    products = {
        "rice": ProductFactory(vendor=vendors["x"], name="高山大米", sku="RICE"),
        "tea": ProductFactory(vendor=vendors["y"], name="富硒茶叶", sku="TEA"),
        "honey": ProductFactory(vendor=vendors["y"], name="土蜂蜜", sku="HONEY"),  # no links
    }
    BenefitLinkFactory(product=products["rice"], household=households["h1"], weight=Decimal(1))
    BenefitLinkFactory(product=products["rice"], household=households["h2"], weight=Decimal(1))
    BenefitLinkFactory(product=products["tea"], household=households["h3"], weight=Decimal(2))
    BenefitLinkFactory(product=products["tea"], household=households["h4"], weight=Decimal(1))
    fair = Fair(
        code="F-1", name="春节爱心集市", date=date(2024, 2, 1), venue="人民广场", district="东区"
    )
    db.session.add(fair)
    db.session.commit()
    agency = OrgFactory(name="市教育局", kind=OrgKind.AGENCY)

    def sale(channel, product, qty, price, day, **kw):
        return record_paid_sale(
            channel,
            [SaleItem(products[product], qty, price)],
            sale_date=day,
            check_sellable=False,
            **kw,
        )

    sale(Channel.ONLINE, "rice", 3, 1000, date(2023, 5, 10))  # 30.00: h1 15, h2 15
    sale(Channel.FAIR, "tea", 1, 3333, date(2024, 2, 1), fair=fair)  # 33.33: h3 22.22, h4 11.11
    sale(Channel.PROCUREMENT, "rice", 10, 1000, date(2024, 7, 1), buyer_org=agency)  # 100.00
    sale(Channel.PROCUREMENT, "honey", 2, 5000, date(2024, 7, 2), buyer_name="市民政局")  # 100.00
    counter = sale(Channel.COUNTER, "tea", 3, 2000, date(2024, 12, 31), buyer_name="百佳超市专柜")
    refund(counter, [(counter.lines[0].id, 1)], reason="破损")  # counter nets 40.00
    return Ledger(
        {"east": east, "west": west}, towns, villages, households, products, vendors, fair
    )


def test_breakdowns_add_up_to_the_summary_totals():
    build_ledger()
    period = Period()
    s = summary()
    assert s.total_amount == 3000 + 3333 + 10000 + 10000 + 4000

    months = breakdowns.monthly_by_channel(period)
    assert sum(m.total for m in months) == s.total_amount
    for c in CHANNELS:
        assert sum(m.amounts[c] for m in months) == s.channels[c].amount
    assert [m.month for m in months][:2] == ["2023-05", "2023-06"]  # gaps filled
    assert months[-1].month == "2024-12"

    geo = breakdowns.geography(period)
    assert sum(r.amount for r in geo.rows) + geo.unattributed == s.total_amount
    assert geo.unattributed == s.unattributed_amount == 10000
    assert sum(r.households for r in geo.rows) == s.households_driven == 4
    assert sum(r.person_times for r in geo.rows) == s.person_times

    for name in ("vendor", "product"):
        assert sum(r.amount for r in breakdowns.dimension_rows(name, period)) == s.total_amount
        assert (
            sum(r.attributed for r in breakdowns.dimension_rows(name, period))
            == s.attributed_amount
        )
    for name, channel in (("fair", "fair"), ("agency", "procurement"), ("counter", "counter")):
        rows = breakdowns.dimension_rows(name, period)
        assert sum(r.amount for r in rows) == s.channels[channel].amount

    people = household_reports.households_rows(period)
    assert len(people) == s.households_driven
    assert sum(h.person_times for h in people) == s.person_times
    assert sum(h.amount for h in people) == s.attributed_amount


def test_dimension_rows_name_the_buyers_and_fairs():
    build_ledger()
    agencies = {r.label: r.amount for r in breakdowns.dimension_rows("agency", Period())}
    assert agencies == {"市教育局": 10000, "市民政局": 10000}
    counters = breakdowns.dimension_rows("counter", Period())
    assert [(r.label, r.amount) for r in counters] == [("百佳超市专柜", 4000)]
    # 60.00 sold, 20.00 refunded; tea splits 2:1 so h3 and h4 are both still driven
    assert counters[0].households == 2
    fairs = breakdowns.dimension_rows("fair", Period())
    assert [(r.label, r.detail, r.amount) for r in fairs] == [("春节爱心集市", "2024-02-01", 3333)]
    vendors = {
        r.label: (r.amount, r.attributed) for r in breakdowns.dimension_rows("vendor", Period())
    }
    assert vendors == {"红星合作社": (13000, 13000), "青山农业公司": (17333, 7333)}


def test_drill_down_filters_district_then_town():
    ledger = build_ledger()
    period = Period()
    top = {r.name: r for r in breakdowns.geography(period).rows}
    # east: rice 130.00 (h1, h2) + tea 2/3 of 73.33 to h3 (22.22 + 26.67)
    assert top["东区"].amount == 13000 + 2222 + 2667
    assert top["西区"].amount == 1111 + 1333

    towns = breakdowns.geography(period, district_id=ledger.districts["east"].id)
    assert towns.level == "town"
    assert {r.name for r in towns.rows} == {"东一镇", "东二镇"}
    assert sum(r.amount for r in towns.rows) == top["东区"].amount
    assert sum(r.households for r in towns.rows) == top["东区"].households == 3
    assert sum(r.person_times for r in towns.rows) == top["东区"].person_times

    villages = breakdowns.geography(period, town_id=ledger.towns["e1"].id)
    assert villages.level == "village"
    assert {r.name: r.amount for r in villages.rows} == {"甲村": 6500, "乙村": 6500}
    e1 = next(r for r in towns.rows if r.name == "东一镇")
    assert sum(r.amount for r in villages.rows) == e1.amount
    assert {r.name: r.person_times for r in villages.rows} == {"甲村": 4 * 2, "乙村": 2 * 2}

    west_towns = breakdowns.geography(period, district_id=ledger.districts["west"].id)
    assert [r.name for r in west_towns.rows] == ["西一镇"]


def test_period_cuts_through_the_data_and_person_times_count_each_year():
    ledger = build_ledger()
    y2024 = Period(date(2024, 1, 1), date(2024, 12, 31))
    s = summary(y2024.date_from, y2024.date_to)
    assert s.total_amount == 3333 + 10000 + 10000 + 4000
    assert sum(r.amount for r in breakdowns.dimension_rows("product", y2024)) == s.total_amount

    everything = {h.code: h for h in household_reports.households_rows(Period())}
    h1 = everything[ledger.households["h1"].code]
    assert (h1.years, h1.person_times, h1.amount) == (2, 8, 1500 + 5000)
    only_2024 = {h.code: h for h in household_reports.households_rows(y2024)}
    assert only_2024[h1.code].years == 1
    # boundary dates count: the counter sale on 2024-12-31 is in
    assert sum(r.amount for r in breakdowns.dimension_rows("counter", y2024)) == 4000
    assert breakdowns.dimension_rows("counter", Period(date(2025, 1, 1), None)) == []


def test_household_benefits_by_product_and_month():
    ledger = build_ledger()
    h3 = ledger.households["h3"]
    products = household_reports.household_products(h3.id, Period())
    assert [(p.name, p.amount) for p in products] == [("富硒茶叶", 2222 + 2667)]
    months = household_reports.household_months(h3.id, Period())
    assert [(m.month, m.amount) for m in months] == [("2024-12", 2667), ("2024-02", 2222)]
    assert household_reports.household_products(
        ledger.households["h1"].id, Period(date(2024, 1, 1))
    ) == [household_reports.ProductBenefit(ledger.products["rice"].id, "高山大米", "RICE", 5000)]


def test_public_impact_withholds_groups_under_three_households():
    build_ledger()
    figures = public.impact()
    assert figures.total.households == 4 and not figures.total.withheld
    assert figures.total.villages == 4 and figures.total.amount == 30333
    years = {y.label: y for y in figures.years}
    assert years["2023"].withheld and years["2023"].amount is None  # h1, h2 only
    # 2024 has four households, but it is the total minus 2023: withheld beside it
    assert years["2024"].withheld and years["2024"].households is None
    channels = {c.label: c for c in figures.channels}
    assert channels["online"].withheld  # h1, h2 only
    assert channels["counter"].withheld  # h3, h4 only
    assert channels["procurement"].withheld  # rice: h1, h2
    assert channels["fair"].withheld  # h3, h4
