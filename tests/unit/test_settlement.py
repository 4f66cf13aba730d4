"""Settlement (issue 14, item 1): each vendor's monthly statement of online sales,
refunds and the platform fee; frozen once issued (a later refund is the next period's
adjustment); over all statements a vendor is paid exactly its online sales net of
refunds, to the fen; the bureau records the payment; the vendor reads and downloads its
own statements only."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.errors import IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.ledger import services as ledger
from orders.ledger.models import Channel, Order, OrderLine
from orders.settlement import services as settlement
from orders.settlement.models import Statement, StatementStatus
from orders.shop.fulfilment import after_sales_refund, cancel_part
from orders.shop.models import Shipment, ShippingRule

from ..factories import UserFactory
from .test_fulfilment import bureau_staff, paid_order, staff_of
from .test_shop_core import stocked_product


def at(frozen_clock, year, month, day, hour=4):
    frozen_clock(datetime(year, month, day, hour, tzinfo=UTC))


def refund_units(order: Order, product, quantity: int):
    line = next(line for line in order.lines if line.product_id == product.id)
    return ledger.refund(order, [(line.id, quantity)], reason="售后", actor="system")


def statement_of(vendor, month: date) -> Statement:
    db.session.expire_all()
    return db.session.scalar(
        select(Statement).where(Statement.vendor_id == vendor.id, Statement.period_start == month)
    )


def ledger_net(vendor) -> int:
    return db.session.scalar(
        select(func.sum(OrderLine.amount - OrderLine.refunded_amount))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.vendor_id == vendor.id, Order.channel == Channel.ONLINE)
    )


@pytest.fixture
def october(frozen_clock):
    """Two vendors; in October 2026 a buyer pays for 3 apples (10.01 yuan each) and one
    honey, then gets one apple refunded."""
    at(frozen_clock, 2026, 10, 15)
    apples = stocked_product(20, price=1001)
    honey = stocked_product(20, price=2500)
    buyer = UserFactory()
    order = paid_order(buyer, {apples: 3, honey: 1}, "s-oct")
    at(frozen_clock, 2026, 10, 20)
    refund_units(order, apples, 1)
    return {"apples": apples, "honey": honey, "buyer": buyer, "order": order}


def test_settlement_reconciles_with_the_ledger_across_a_refund_after_issuing(
    frozen_clock, october, app, monkeypatch
):
    monkeypatch.setitem(app.config, "SETTLEMENT_FEE_RATE", "0.6")
    apples, order, buyer = october["apples"], october["order"], october["buyer"]
    vendor = apples.vendor
    bureau = bureau_staff()
    bureau_org = bureau.memberships[0].org

    at(frozen_clock, 2026, 11, 2)
    settlement.issue_month(bureau, bureau_org, date(2026, 10, 1))
    oct_ = statement_of(vendor, date(2026, 10, 1))
    assert (oct_.orders, oct_.sales, oct_.refunds, oct_.adjustments) == (1, 3003, 1001, 0)
    assert oct_.fee_rate_bp == 60 and oct_.fee == 12  # 2002 x 0.6% = 12.012 -> 12
    assert oct_.net == 3003 - 1001 - 12

    # after the October statement: the rest of the October order is refunded, and a
    # new November sale is made
    at(frozen_clock, 2026, 11, 3)
    refund_units(order, apples, 2)
    paid_order(buyer, {apples: 1}, "s-nov")
    frozen = statement_of(vendor, date(2026, 10, 1))
    assert (frozen.sales, frozen.refunds, frozen.net) == (3003, 1001, 1990)  # unchanged

    at(frozen_clock, 2026, 12, 1)
    settlement.issue_month(bureau, bureau_org, date(2026, 11, 1))
    nov = statement_of(vendor, date(2026, 11, 1))
    assert (nov.sales, nov.refunds, nov.adjustments) == (1001, 0, 2002)
    assert nov.fee == 0 and nov.net == 1001 - 2002  # a loss carries, no fee on it

    statements = db.session.scalars(select(Statement).where(Statement.vendor_id == vendor.id))
    assert sum(s.net + s.fee for s in statements) == ledger_net(vendor) == 1001


def ledger_shipping_net(vendor) -> int:
    """The vendor's shipping fees kept: charged on paid online parts, less those given
    back (read from the ledger's orders and the shop's parts)."""
    charged = db.session.scalar(
        select(func.coalesce(func.sum(Shipment.shipping_fen), 0))
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.vendor_id == vendor.id, Order.paid_at.is_not(None))
    )
    given_back = db.session.scalar(
        select(func.coalesce(func.sum(Shipment.shipping_fen), 0)).where(
            Shipment.vendor_id == vendor.id, Shipment.shipping_refund_id.is_not(None)
        )
    )
    return charged - given_back


def test_settlement_includes_shipping_and_refunded_shipping_and_reconciles(
    frozen_clock, app, monkeypatch, client, auth
):
    """Fees are the vendor's: in the statement of the sale's month, given back (with a
    whole part's refund) in the refund's month, as a refund or an adjustment; over all
    statements the vendor gets its goods and fees net of refunds, to the fen."""
    monkeypatch.setitem(app.config, "SETTLEMENT_FEE_RATE", "0.6")
    at(frozen_clock, 2026, 10, 5)
    apples = stocked_product(20, price=1001)
    vendor = apples.vendor
    db.session.add(ShippingRule(vendor_id=vendor.id, flat_fee_fen=650, free_from_fen=5000))
    db.session.commit()
    buyer = UserFactory()
    kept = paid_order(buyer, {apples: 2}, "s-kept")  # 20.02 + 6.50
    cancelled = paid_order(buyer, {apples: 1}, "s-cancelled")  # 10.01 + 6.50
    later = paid_order(buyer, {apples: 3}, "s-later")  # 30.03 + 6.50
    free = paid_order(buyer, {apples: 5}, "s-free")  # 50.05: free shipping
    assert [o.shipping_fen for o in (kept, cancelled, later, free)] == [650, 650, 650, 0]
    staff = staff_of(vendor)
    at(frozen_clock, 2026, 10, 6)
    cancel_part(staff, vendor, cancelled.id, "缺货")  # October: goods and fee back
    bureau = bureau_staff()
    bureau_org = bureau.memberships[0].org
    line = later.lines[0]
    after_sales_refund(bureau, bureau_org, later.id, {line.id: 1}, "压坏一箱", token="p1")

    at(frozen_clock, 2026, 11, 2)
    settlement.issue_month(bureau, bureau_org, date(2026, 10, 1))
    oct_ = statement_of(vendor, date(2026, 10, 1))
    sales = 2002 + 1001 + 3003 + 5005
    assert (oct_.orders, oct_.sales, oct_.shipping) == (4, sales, 3 * 650)
    assert oct_.refunds == 1001 + 650 + 1001  # the cancelled part with its fee; one box
    assert oct_.shipping_refunded == 650 and oct_.adjustments == 0
    base = sales + 3 * 650 - oct_.refunds
    assert oct_.fee == round(base * 0.006) and oct_.net == base - oct_.fee

    # November: the rest of the October part is refunded: its fee comes back with it
    at(frozen_clock, 2026, 11, 3)
    after_sales_refund(bureau, bureau_org, later.id, {line.id: 2}, "其余也坏了", token="p2")
    at(frozen_clock, 2026, 12, 1)
    settlement.issue_month(bureau, bureau_org, date(2026, 11, 1))
    nov = statement_of(vendor, date(2026, 11, 1))
    assert (nov.sales, nov.shipping, nov.refunds) == (0, 0, 0)
    assert nov.adjustments == 2002 + 650 and nov.shipping_refunded == 650

    statements = db.session.scalars(select(Statement).where(Statement.vendor_id == vendor.id))
    assert sum(s.net + s.fee for s in statements) == ledger_net(vendor) + ledger_shipping_net(
        vendor
    )
    assert ledger_shipping_net(vendor) == 650  # only the kept order's fee stays

    # the statement page and its export show the fees and the fees given back
    auth.login(staff.email)
    page = client.get(f"/vendor/settlement/{oct_.id}").text
    assert 'data-testid="shipping">19.50<' in page and "运费退款" in page
    csv = client.get(f"/vendor/settlement/{oct_.id}.csv").data.decode("utf-8-sig")
    assert "运费,,,19.50" in csv and "其中运费退款,,,-6.50" in csv


def test_a_month_is_issued_once_it_has_ended_and_only_once(frozen_clock, october):
    bureau = bureau_staff()
    bureau_org = bureau.memberships[0].org
    with pytest.raises(ValidationError):
        settlement.issue_month(bureau, bureau_org, date(2026, 10, 1))  # still October

    at(frozen_clock, 2026, 11, 1, hour=0)  # 08:00 on 1 November in Haikou
    first = settlement.issue_month(bureau, bureau_org, date(2026, 10, 1))
    assert {s.vendor_id for s in first} == {october["apples"].vendor_id, october["honey"].vendor_id}
    assert settlement.issue_month(bureau, bureau_org, date(2026, 10, 1)) == []
    assert db.session.scalar(select(func.count()).select_from(Statement)) == 2
    assert (
        db.session.scalar(select(func.count()).where(AuditEntry.action == "settlement.issue")) == 2
    )


def test_only_the_bureau_issues_and_marks_paid(frozen_clock, october):
    vendor_staff = staff_of(october["apples"].vendor)
    at(frozen_clock, 2026, 11, 2)
    with pytest.raises(Exception) as caught:
        settlement.issue_month(vendor_staff, october["apples"].vendor, date(2026, 10, 1))
    assert type(caught.value).__name__ == "Forbidden"


def test_the_bureau_marks_a_statement_paid_once_with_a_bank_reference(
    client, auth, frozen_clock, october
):
    bureau = bureau_staff()
    at(frozen_clock, 2026, 11, 2)
    settlement.issue_month(bureau, bureau.memberships[0].org, date(2026, 10, 1))
    statement = statement_of(october["apples"].vendor, date(2026, 10, 1))
    auth.login(bureau.email)

    page = client.get(f"/bureau/settlement/{statement.id}")
    assert page.status_code == 200 and "记录付款" in page.text

    missing = client.post(f"/bureau/settlement/{statement.id}/paid", data={"paid_on": "2026-11-02"})
    assert (
        missing.status_code == 400
        and statement_of(october["apples"].vendor, date(2026, 10, 1)).status == "issued"
    )

    done = client.post(
        f"/bureau/settlement/{statement.id}/paid",
        data={"bank_ref": "ICBC-20261102-001", "paid_on": "2026-11-02"},
        follow_redirects=True,
    )
    assert "ICBC-20261102-001" in done.text
    paid = statement_of(october["apples"].vendor, date(2026, 10, 1))
    assert paid.status == StatementStatus.PAID and paid.paid_on == date(2026, 11, 2)
    with pytest.raises(IllegalTransition):
        settlement.mark_paid(bureau, bureau.memberships[0].org, paid.id, "again", date(2026, 11, 2))


def test_a_vendor_reads_and_downloads_only_its_own_statements(client, auth, frozen_clock, october):
    apples_vendor, honey_vendor = october["apples"].vendor, october["honey"].vendor
    bureau = bureau_staff()
    at(frozen_clock, 2026, 11, 2)
    settlement.issue_month(bureau, bureau.memberships[0].org, date(2026, 10, 1))
    own = statement_of(apples_vendor, date(2026, 10, 1))
    other = statement_of(honey_vendor, date(2026, 10, 1))
    staff = staff_of(apples_vendor)
    auth.login(staff.email)

    listing = client.get("/vendor/settlement")
    assert own.number in listing.text and other.number not in listing.text
    page = client.get(f"/vendor/settlement/{own.id}")
    assert page.status_code == 200 and "20.02" in page.text and order_number(october) in page.text
    assert client.get(f"/vendor/settlement/{other.id}").status_code == 404
    assert client.get(f"/vendor/settlement/{other.id}.xlsx").status_code == 404
    assert client.get("/bureau/settlement").status_code == 403

    xlsx = client.get(f"/vendor/settlement/{own.id}.xlsx")
    assert "filename*=UTF-8''" in xlsx.headers["Content-Disposition"]
    assert "2026" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    net_row = next(row for row in values if row[0] == "应付净额")
    assert isinstance(net_row[3], (int, float, Decimal)) and Decimal(str(net_row[3])) == Decimal(
        "20.02"
    )
    csv = client.get(f"/vendor/settlement/{own.id}.csv").data.decode("utf-8-sig")
    assert "应付净额,,,20.02" in csv and "-10.01" in csv


def order_number(october) -> str:
    return october["order"].number


@pytest.mark.parametrize("value", ["-1", "101", "0.125", "abc"])
def test_a_fee_rate_that_is_not_a_percent_stops_the_app(tmp_path, value):
    from marketplace.config import ConfigError, load_config

    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"SETTLEMENT_FEE_RATE": value})
    assert (
        load_config(str(tmp_path), {"SETTLEMENT_FEE_RATE": "0.6"})["SETTLEMENT_FEE_RATE"] == "0.6"
    )
