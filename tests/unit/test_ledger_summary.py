"""`report summary` on a small hand-made ledger, figures worked out by hand below."""

from __future__ import annotations

import json
import random
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import distinct, func, select

from catalog.models import CertStatus
from marketplace.extensions import db
from marketplace.models import Household
from orders.fairs.models import Fair, FairStatus
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, cancel_unpaid, create_order, record_paid_sale, refund
from orders.reports.summary import households_driven_query, summary

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory

FROM, TO = date(2024, 1, 15), date(2025, 2, 10)
CONTRACT_KEYS = {
    "from",
    "to",
    "channels",
    "total_amount",
    "fairs_held",
    "certified_products",
    "certified_product_sales",
    "households_driven",
    "person_times",
    "attributed_amount",
    "unattributed_amount",
}
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def paid(channel, product, quantity, price, day, fair=None):
    return record_paid_sale(
        channel,
        [SaleItem(product, quantity, price)],
        sale_date=day,
        fair=fair,
        check_sellable=False,
    )


@pytest.fixture
def ledger():
    """Households A (H1, 4 members), B (H2, 2), C (H3, 5).
    P1 links A:1 B:1, certified 2024-03-01..2024-06-30.
    P2 no links (unattributed), only a pending application.
    P3 links C, certified in 2023 only.  P4 certified from 2025-02-10 (the last day)."""
    a = HouseholdFactory(code="H1", members=4)
    b = HouseholdFactory(code="H2", members=2)
    c = HouseholdFactory(code="H3", members=5)
    p1, p2, p3, p4 = (ProductFactory(sku=f"P{n}") for n in range(1, 5))
    BenefitLinkFactory(product=p1, household=a, weight=Decimal(1))
    BenefitLinkFactory(product=p1, household=b, weight=Decimal(1))
    BenefitLinkFactory(product=p3, household=c, weight=Decimal(1))
    CertificationFactory(product=p1, certified_on=date(2024, 3, 1), valid_until=date(2024, 6, 30))
    CertificationFactory(product=p2, status=CertStatus.PENDING)
    CertificationFactory(product=p3, certified_on=date(2023, 1, 1), valid_until=date(2023, 12, 31))
    CertificationFactory(product=p4, certified_on=date(2025, 2, 10), valid_until=date(2026, 2, 9))

    fairs = {}
    for code, day, status in [
        ("F1", date(2024, 3, 1), FairStatus.CLOSED),
        ("F2", date(2024, 1, 14), FairStatus.CLOSED),  # the day before the period
        ("F3", date(2025, 2, 10), FairStatus.CANCELLED),
        ("F4", date(2025, 2, 10), FairStatus.PLANNED),
    ]:
        fairs[code] = Fair(
            code=code, name=code, date=day, venue="广场", district="秀英区", status=status
        )
        db.session.add(fairs[code])
    db.session.commit()

    paid(Channel.ONLINE, p1, 1, 10000, date(2024, 1, 14))  # outside: day before
    paid(Channel.ONLINE, p1, 2, 5000, date(2024, 1, 15))  # first day: A 50, B 50
    paid(Channel.FAIR, p1, 1, 1001, date(2024, 3, 1), fairs["F1"])  # certified; A 5.01 B 5.00
    paid(Channel.PROCUREMENT, p3, 10, 800, date(2024, 12, 31))  # C 80.00 (2024)
    paid(Channel.COUNTER, p2, 3, 100, date(2025, 2, 10))  # last day, unattributed 3.00
    paid(Channel.ONLINE, p1, 1, 9900, date(2025, 2, 11))  # outside: day after
    gone = paid(Channel.ONLINE, p3, 1, 500, date(2025, 1, 20))  # refunded in full
    refund(gone, [(gone.lines[0].id, 1)], reason="退货")
    part = paid(Channel.ONLINE, p1, 4, 2500, date(2025, 1, 5))  # A 50 B 50, then -12.50 each
    refund(part, [(part.lines[0].id, 1)], reason="少一件")
    create_order(Channel.ONLINE, [SaleItem(p1, 7, 7000)], check_sellable=False)  # unpaid
    cancelled = create_order(Channel.ONLINE, [SaleItem(p1, 9, 9000)], check_sellable=False)
    db.session.commit()
    cancel_unpaid(cancelled, reason="超时未付")


def test_summary_for_a_period_cutting_through_the_data(ledger):
    result = summary(FROM, TO)
    figures = result.to_json()
    assert figures["from"] == "2024-01-15" and figures["to"] == "2025-02-10"
    assert figures["channels"] == {
        # online: 100.00 (2024-01-15) + 100.00 - 25.00 (2025-01-05); the fully refunded
        # order counts neither as an order nor in money
        "online": {"orders": 2, "amount": "175.00"},
        "fair": {"orders": 1, "amount": "10.01"},
        "procurement": {"orders": 1, "amount": "80.00"},
        "counter": {"orders": 1, "amount": "3.00"},
    }
    assert figures["total_amount"] == "268.01"
    assert figures["fairs_held"] == 2  # F1 and F4; F2 before, F3 cancelled
    assert figures["certified_products"] == 2  # P1 overlaps, P4 starts on the last day
    assert figures["certified_product_sales"] == "10.01"  # only the fair sale of P1
    # A and B in 2024 and 2025, C in 2024 only (its 2025 purchase was refunded)
    assert figures["households_driven"] == 3
    assert figures["person_times"] == (4 + 2 + 5) + (4 + 2)
    # A 50 + 5.01 + 37.50, B 50 + 5.00 + 37.50, C 80
    assert figures["attributed_amount"] == "265.01"
    assert figures["unattributed_amount"] == "3.00"
    assert result.attributed_amount + result.unattributed_amount == result.total_amount


def test_summary_of_everything_and_open_ends(ledger):
    everything = summary().to_json()
    assert everything["from"] == "2024-01-14" and everything["to"] == "2025-02-11"
    assert everything["total_amount"] == "467.01"  # 268.01 + 100.00 + 99.00
    assert everything["fairs_held"] == 3
    assert everything["certified_products"] == 3  # every approved certificate
    assert everything["channels"]["online"]["orders"] == 4
    only_2025 = summary(date(2025, 1, 1), None).to_json()
    assert only_2025["from"] == "2025-01-01" and only_2025["to"] == "2025-02-11"
    assert only_2025["households_driven"] == 2 and only_2025["person_times"] == 6
    assert only_2025["total_amount"] == "177.00"  # 75.00 + 3.00 + 99.00


def test_a_month_without_sales(ledger):
    figures = summary(date(2024, 8, 1), date(2024, 8, 31)).to_json()
    assert figures["total_amount"] == "0.00"
    assert figures["households_driven"] == 0 and figures["person_times"] == 0
    assert all(c == {"orders": 0, "amount": "0.00"} for c in figures["channels"].values())


def test_person_times_count_a_household_once_per_calendar_year():
    home = HouseholdFactory(code="H9", members=3)
    product = ProductFactory(sku="P9")
    BenefitLinkFactory(product=product, household=home)
    for day in (date(2023, 3, 1), date(2023, 11, 30), date(2024, 1, 2)):
        paid(Channel.ONLINE, product, 1, 100, day)
    figures = summary(date(2023, 1, 1), date(2024, 12, 31))
    assert (figures.households_driven, figures.person_times) == (1, 6)
    one_year = summary(date(2023, 1, 1), date(2023, 12, 31))
    assert (one_year.households_driven, one_year.person_times) == (1, 3)


def test_cli_json_has_exactly_the_contract_keys_and_formats(ledger, runner):
    result = runner.invoke(
        args=["report", "summary", "--from", "2024-01-15", "--to", "2025-02-10", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)  # exactly one JSON object, nothing else
    assert set(data) == CONTRACT_KEYS
    assert list(data["channels"]) == ["online", "fair", "procurement", "counter"]
    for figures in data["channels"].values():
        assert set(figures) == {"orders", "amount"}
        assert isinstance(figures["orders"], int) and AMOUNT.match(figures["amount"])
    for key in (
        "total_amount",
        "certified_product_sales",
        "attributed_amount",
        "unattributed_amount",
    ):
        assert isinstance(data[key], str) and AMOUNT.match(data[key]), key
    for key in ("fairs_held", "certified_products", "households_driven", "person_times"):
        assert isinstance(data[key], int) and not isinstance(data[key], bool), key
    assert DAY.match(data["from"]) and DAY.match(data["to"])
    assert data["total_amount"] == "268.01" and data["person_times"] == 17


def test_cli_default_period_and_table(ledger, runner):
    data = json.loads(runner.invoke(args=["report", "summary", "--format", "json"]).output)
    assert (data["from"], data["to"]) == ("2024-01-14", "2025-02-11")
    table = runner.invoke(args=["report", "summary", "--from", "2024-01-15", "--to", "2025-02-10"])
    assert table.exit_code == 0
    assert "268.01" in table.output and "175.00" in table.output and "2024-01-15" in table.output


def test_cli_json_on_an_empty_ledger_is_still_well_formed(runner):
    data = json.loads(runner.invoke(args=["report", "summary", "--format", "json"]).output)
    assert set(data) == CONTRACT_KEYS and DAY.match(data["from"]) and DAY.match(data["to"])
    assert data["total_amount"] == "0.00"


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2024-02-30"],
        ["--to", "yesterday"],
        ["--from", "2024-1-5"],
        ["--from", "2025-01-02", "--to", "2025-01-01"],
        ["--format", "xml"],
    ],
)
def test_cli_refuses_bad_periods(runner, args):
    result = runner.invoke(args=["report", "summary", *args])
    assert result.exit_code == 2
    assert "Error" in result.output


def _plain(date_from, date_to) -> tuple[int, int]:
    """The definition, aggregated the plain way: GROUP BY household and year."""
    driven = households_driven_query(date_from, date_to)
    households, people = db.session.execute(
        select(func.count(distinct(driven.c.household_id)), func.sum(Household.members))
        .select_from(driven)
        .join(Household, Household.id == driven.c.household_id)
    ).one()
    return int(households or 0), int(people or 0)


def test_fast_households_figures_equal_the_plain_group_by():
    """Random sales over three years with random whole and partial refunds: the index
    probes give the same households and person-times as GROUP BY over every row."""
    rng = random.Random(4)
    homes = [HouseholdFactory(code=f"R{n:02d}", members=rng.randint(1, 7)) for n in range(12)]
    products = []
    for n in range(5):
        product = ProductFactory(sku=f"R-{n}")
        for home in rng.sample(homes, rng.randint(1, 3)):
            BenefitLinkFactory(product=product, household=home, weight=Decimal(rng.randint(1, 3)))
        products.append(product)
    for _ in range(40):
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(3 * 365))
        order = paid(
            Channel.ONLINE, rng.choice(products), rng.randint(1, 4), rng.randint(1, 9), day
        )
        line = order.lines[0]
        roll = rng.random()
        if roll < 0.25:
            refund(order, [(line.id, line.quantity)], reason="全退")
        elif roll < 0.5 and line.quantity > 1:
            refund(order, [(line.id, rng.randint(1, line.quantity - 1))], reason="部分退")
    for date_from, date_to in [
        (None, None),
        (date(2023, 1, 1), date(2025, 12, 31)),
        (date(2023, 7, 1), date(2024, 6, 30)),
        (date(2024, 3, 1), date(2024, 3, 31)),
        (date(2025, 1, 1), None),
    ]:
        fast = summary(date_from, date_to)
        assert (fast.households_driven, fast.person_times) == _plain(date_from, date_to)
