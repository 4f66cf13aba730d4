"""`import fairs` and `import sales` (docs/formats.md): bad rows, skips, encodings, stock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Household, OrgKind
from orders.fairs.models import Fair, FairStatus
from orders.ledger.imports import import_order_number
from orders.ledger.models import Attribution, Order, OrderLine
from vendors import stock
from vendors.models import StockLevel, StockLocation, StockMovement
from vendors.stock import Goods, Ref, fair_stall

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, OrgFactory

SALES_HEADER = "sale_ref,channel,date,sku,quantity,unit_price,fair_code,buyer,payment_method\n"
FAIRS_HEADER = "fair_code,name,date,venue,district,community\n"


def run(runner, tmp_path, command, content, *args, encoding="utf-8"):
    path = tmp_path / f"{command}.csv"
    path.write_bytes(content.encode(encoding))
    return runner.invoke(args=["import", command, str(path), *args])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def shop():
    """Two products of one cooperative: LZ-1 linked to two households (weights 1 and 3),
    certified in 2024; HD-1 with no links."""
    vendor = OrgFactory(code="V001", name="永兴荔枝合作社")
    lychee = ProductFactory(sku="LZ-1", name="妃子笑荔枝", unit="箱", vendor=vendor)
    beans = ProductFactory(sku="HD-1", name="石山黑豆", unit="袋", vendor=vendor)
    CertificationFactory(
        product=lychee, certified_on=date(2024, 1, 1), valid_until=date(2024, 12, 31)
    )
    first = HouseholdFactory(code="H001", members=4)
    second = HouseholdFactory(code="H002", members=2)
    BenefitLinkFactory(product=lychee, household=first, weight=Decimal(1))
    BenefitLinkFactory(product=lychee, household=second, weight=Decimal(3))
    fair = Fair(
        code="F01",
        name="秀英集市",
        date=date(2024, 6, 1),
        venue="万达广场",
        district="秀英区",
        status=FairStatus.CLOSED,
    )
    db.session.add(fair)
    db.session.commit()
    return {"vendor": vendor, "lychee": lychee, "beans": beans, "fair": fair}


def test_fairs_import_creates_then_updates(runner, tmp_path):
    content = FAIRS_HEADER + (
        "F01,秀英爱心集市,2024-06-01,万达广场,秀英区,海秀社区\nF02,琼山集市,2099-01-05,府城,琼山区,\n"
    )
    result = run(runner, tmp_path, "fairs", content)
    assert result.exit_code == 0, result.output
    assert "fairs: 2 created, 0 updated" in result.output
    past = db.session.scalar(select(Fair).where(Fair.code == "F01"))
    assert (past.date, past.community, past.status) == (date(2024, 6, 1), "海秀社区", "closed")
    assert db.session.scalar(select(Fair.status).where(Fair.code == "F02")) == "planned"

    again = FAIRS_HEADER + "F01,秀英爱心扶贫集市,2024-06-02,万达广场,秀英区,\n"
    result = run(runner, tmp_path, "fairs", again)
    assert "fairs: 0 created, 1 updated" in result.output
    db.session.expire_all()
    past = db.session.scalar(select(Fair).where(Fair.code == "F01"))
    assert (past.name, past.date, past.community) == ("秀英爱心扶贫集市", date(2024, 6, 2), None)
    assert count(Fair) == 2


def test_fairs_import_reports_bad_rows(runner, tmp_path):
    content = FAIRS_HEADER + "F01,集市,2024-13-01,广场,秀英区,\nF01,集市,2024-01-01,,秀英区,\n"
    result = run(runner, tmp_path, "fairs", content)
    assert result.exit_code == 1
    assert "row 2: date:" in result.output
    assert "row 3: fair_code:" in result.output and "row 3: venue:" in result.output
    assert count(Fair) == 0


def test_sales_import_writes_paid_orders_lines_and_attribution(runner, tmp_path, shop):
    org = OrgFactory(name="海口市教育局", kind=OrgKind.AGENCY)
    content = SALES_HEADER + (
        "S-1,procurement,2024-05-20,LZ-1,10,68.5,,海口市教育局,bank_transfer\n"
        "S-1,procurement,2024-05-20,HD-1,3,20,,海口市教育局,\n"
        "S-2,fair,2024-06-01,LZ-1,1,0.01,F01,,cash\n"
        "S-3,counter,2025-01-02,LZ-1,2,70,,无名小店,wechat\n"
    )
    result = run(runner, tmp_path, "sales", content)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("sales: 3 orders imported (4 lines), 0 skipped")

    order = db.session.scalar(select(Order).where(Order.external_ref == "S-1"))
    assert order.number == import_order_number("S-1") and order.number.startswith("I")
    assert len(order.number) == 16
    assert (order.status, order.channel, order.sale_date) == (
        "paid",
        "procurement",
        date(2024, 5, 20),
    )
    assert (order.buyer_org_id, order.buyer_name) == (org.id, "海口市教育局")
    assert order.payment_method == "bank_transfer"
    assert order.total == 68500 + 6000
    lines = {line.product_name: line for line in order.lines}
    assert lines["妃子笑荔枝"].unit == "箱" and lines["妃子笑荔枝"].amount == 68500
    assert lines["妃子笑荔枝"].certified and not lines["石山黑豆"].certified
    assert lines["石山黑豆"].vendor_id == shop["vendor"].id

    counter = db.session.scalar(select(Order).where(Order.external_ref == "S-3"))
    assert (counter.buyer_org_id, counter.buyer_name) == (None, "无名小店")
    assert not counter.lines[0].certified  # certification ended 2024-12-31
    fair_order = db.session.scalar(select(Order).where(Order.external_ref == "S-2"))
    assert fair_order.fair_id == shop["fair"].id

    # attribution: 685.00 split 1:3, 0.01 goes to the larger remainder, beans unattributed
    def parts(ref):
        return dict(
            db.session.execute(
                select(Attribution.household_id, func.sum(Attribution.amount))
                .join(Order, Order.id == Attribution.order_id)
                .where(Order.external_ref == ref)
                .group_by(Attribution.household_id)
            ).all()
        )

    households = {h.code: h.id for h in db.session.scalars(select(Household))}
    first = parts("S-1")
    assert first == {households["H001"]: 17125, households["H002"]: 51375, None: 6000}
    # one fen over weights 1:3: the larger exact share (0.75) takes it
    assert parts("S-2") == {households["H001"]: 0, households["H002"]: 1}
    assert db.session.scalar(select(func.sum(Attribution.amount))) == order.total + 1 + 14000


def test_sales_reimport_skips_and_says_so(runner, tmp_path, shop):
    content = SALES_HEADER + (
        "S-1,online,2024-05-20,LZ-1,1,68,,,alipay\nS-2,online,2024-05-21,LZ-1,1,68,,,\n"
    )
    assert run(runner, tmp_path, "sales", content).exit_code == 0
    before = (count(Order), count(OrderLine), count(Attribution))
    result = run(runner, tmp_path, "sales", content)
    assert result.exit_code == 0, result.output
    assert "sales: 0 orders imported (0 lines), 2 skipped" in result.output
    assert (count(Order), count(OrderLine), count(Attribution)) == before

    more = content + "S-3,online,2024-05-22,HD-1,2,20,,,\n"
    result = run(runner, tmp_path, "sales", more)
    assert "sales: 1 orders imported (1 lines), 2 skipped" in result.output
    assert count(Order) == 3


def test_sales_import_reports_every_bad_row_and_writes_nothing(runner, tmp_path, shop):
    content = SALES_HEADER + (
        "OK-2,online,2024-05-20,LZ-1,1,68,,,\n"  # row 2 fine
        "B-3,online,2024-05-20,NOPE,1,68,,,\n"  # row 3 unknown sku
        "B-4,online,2024-05-20,LZ-1,0,68,,,\n"  # row 4 quantity 0
        "B-5,online,2024-05-20,LZ-1,-2,68,,,\n"  # row 5 negative quantity
        "B-6,online,2024-05-20,LZ-1,1,68.123,,,\n"  # row 6 three decimals
        "B-7,online,2024-02-30,LZ-1,1,68,,,\n"  # row 7 bad date
        "B-8,wholesale,2024-05-20,LZ-1,1,68,,,\n"  # row 8 unknown channel
        "B-9,fair,2024-05-20,LZ-1,1,68,,,\n"  # row 9 fair without fair_code
        "B-10,online,2024-05-20,LZ-1,1,68,F01,,\n"  # row 10 fair_code on an online row
        "B-11,fair,2024-05-20,LZ-1,1,68,F99,,\n"  # row 11 unknown fair
        "B-12,counter,2024-05-20,LZ-1,1,68,,店A,\n"  # row 12 first row of B-12
        "B-12,online,2024-05-21,LZ-1,1,68,,店B,\n"  # row 13 disagrees on channel, date, buyer
        "B-14,online,2024-05-20,LZ-1,1.5,68,,,\n"  # row 14 fractional quantity
        "B-15,online,2024-05-20,LZ-1,1,68,,,paypal\n"  # row 15 unknown payment method
    )
    result = run(runner, tmp_path, "sales", content)
    assert result.exit_code == 1
    for expected in [
        "row 3: sku:",
        "row 4: quantity:",
        "row 5: quantity:",
        "row 6: unit_price:",
        "row 7: date:",
        "row 8: channel:",
        "row 9: fair_code:",
        "row 10: fair_code:",
        "row 11: fair_code:",
        "row 13: channel:",
        "row 13: date:",
        "row 13: buyer:",
        "row 14: quantity:",
        "row 15: payment_method:",
    ]:
        assert expected in result.output, expected
    assert "row 2:" not in result.output and "row 12:" not in result.output
    assert "nothing written" in result.output
    assert count(Order) == count(OrderLine) == count(Attribution) == 0


def test_sales_rows_of_one_ref_disagreeing_on_fair(runner, tmp_path, shop):
    db.session.add(
        Fair(code="F02", name="龙华集市", date=date(2024, 6, 1), venue="广场", district="龙华区")
    )
    db.session.commit()
    content = SALES_HEADER + (
        "S-1,fair,2024-06-01,LZ-1,1,68,F01,,cash\n"
        "S-1,fair,2024-06-01,HD-1,1,20,F02,,cash\n"
        "S-1,fair,2024-06-01,HD-1,1,20,F01,,cash\n"
    )
    result = run(runner, tmp_path, "sales", content)
    assert result.exit_code == 1
    assert "row 3: fair_code:" in result.output and "row 4:" not in result.output
    assert count(Order) == 0


def test_sales_import_reads_gb18030(runner, tmp_path, shop):
    OrgFactory(name="椰城惠民超市", kind=OrgKind.RETAILER)
    content = SALES_HEADER + "专柜-001,counter,2024-07-01,LZ-1,2,68,,椰城惠民超市,wechat\n"
    result = run(runner, tmp_path, "sales", content, encoding="gb18030")
    assert result.exit_code == 0, result.output
    order = db.session.scalar(select(Order))
    assert order.external_ref == "专柜-001" and order.buyer_name == "椰城惠民超市"
    assert order.buyer_org_id is not None


def test_sales_import_dry_run_writes_nothing(runner, tmp_path, shop):
    content = SALES_HEADER + "S-1,online,2024-05-20,LZ-1,1,68,,,\n"
    result = run(runner, tmp_path, "sales", content, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: sales: 1 orders imported (1 lines), 0 skipped" in (
        result.output
    )
    assert count(Order) == count(OrderLine) == count(Attribution) == 0


def test_sales_import_without_flag_leaves_stock_alone(runner, tmp_path, shop):
    content = SALES_HEADER + "S-1,online,2024-05-20,LZ-1,5,68,,,\n"
    assert run(runner, tmp_path, "sales", content).exit_code == 0
    assert count(StockMovement) == 0


def test_affect_stock_takes_from_warehouse_and_fair_location(runner, tmp_path, shop):
    lychee = shop["lychee"]
    stall = fair_stall(shop["fair"].id, "秀英集市")
    stock.receive([Goods(lychee.id, 10)], Ref(note="harvest"))
    stock.receive([Goods(lychee.id, 4, stall)], Ref(note="to the fair"))

    content = SALES_HEADER + (
        "S-1,online,2024-05-20,LZ-1,3,68,,,\n"
        "S-2,online,2024-05-21,LZ-1,7,68,,,\n"
        "S-3,fair,2024-06-01,LZ-1,4,60,F01,,cash\n"
    )
    result = run(runner, tmp_path, "sales", content, "--affect-stock")
    assert result.exit_code == 0, result.output

    assert stock.available(lychee.id) == 0 and stock.available(lychee.id, stall) == 0
    assert db.session.scalar(select(func.sum(StockLevel.on_hand))) == 0
    moves = db.session.scalars(
        select(StockMovement).where(StockMovement.kind == "sale").order_by(StockMovement.id)
    ).all()
    assert [(m.ref_type, m.ref_id, m.on_hand_delta) for m in moves] == [
        ("import", "S-1", -3),
        ("import", "S-2", -7),
        ("import", "S-3", -4),
    ]


def test_affect_stock_fails_whole_import_when_stock_would_go_negative(runner, tmp_path, shop):
    lychee = shop["lychee"]
    stock.receive([Goods(lychee.id, 5)], Ref(note="harvest"))
    content = SALES_HEADER + (
        "S-1,online,2024-05-20,LZ-1,3,68,,,\n"  # row 2: 3 of 5, fine
        "S-2,online,2024-05-21,LZ-1,3,68,,,\n"  # row 3: 6 of 5
        "S-3,fair,2024-06-01,HD-1,1,20,F01,,cash\n"  # row 4: nothing at the fair
        "S-4,online,2024-06-02,NOPE,1,20,,,\n"  # row 5: unknown sku, reported as well
    )
    result = run(runner, tmp_path, "sales", content, "--affect-stock")
    assert result.exit_code == 1
    assert "row 3: quantity:" in result.output and "row 4: quantity:" in result.output
    assert "row 5: sku:" in result.output
    assert "row 2:" not in result.output
    assert count(Order) == 0 and count(Attribution) == 0
    assert db.session.scalar(select(StockLevel.on_hand)) == 5
    assert count(StockMovement) == 1  # the receipt only
    # no fair location was created either
    assert (
        db.session.scalar(
            select(func.count()).select_from(StockLocation).where(StockLocation.kind == "fair")
        )
        == 0
    )


def test_affect_stock_takes_from_the_vendors_stall_at_that_fair(runner, tmp_path, shop):
    """A fair row takes stock from the vendor's stall at that fair (the one location of
    that vendor and fair), not from its warehouse; with stock 0 there the import fails,
    and once stock was moved there it succeeds."""
    beans = shop["beans"]
    stock.receive([Goods(beans.id, 5)], Ref(note="harvest"))
    content = SALES_HEADER + "S-1,fair,2024-06-01,HD-1,2,20,F01,,cash\n"
    assert run(runner, tmp_path, "sales", content, "--affect-stock").exit_code == 1
    stall = fair_stall(shop["fair"].id, "秀英集市（F01）")
    stock.transfer(beans.id, 2, stock.WAREHOUSE, stall, Ref(type="fair", id=shop["fair"].id))
    result = run(runner, tmp_path, "sales", content, "--affect-stock")
    assert result.exit_code == 0, result.output
    assert stock.available(beans.id, stall) == 0 and stock.available(beans.id) == 3
    fair_locations = db.session.scalars(
        select(StockLocation).where(StockLocation.kind == "fair")
    ).all()
    assert [(loc.vendor_id, loc.place_ref) for loc in fair_locations] == [
        (shop["vendor"].id, shop["fair"].id)
    ]


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry_run"])
def test_sales_amounts_beyond_what_the_ledger_holds_are_row_errors(runner, tmp_path, shop, dry_run):
    """quantity x unit_price must fit the ledger's money columns (BIGINT fen): a line or an
    order past ``MAX_FEN`` is a row error on unit_price, never a database error."""
    content = SALES_HEADER + (
        "OK-2,online,2024-05-20,LZ-1,2,68,,,\n"  # row 2 fine
        "BIG-3,online,2024-05-20,LZ-1,1000000000,10000000000000,,,\n"  # 10**9 x 10**15 fen
        "BIG-4,online,2024-05-20,LZ-1,1000,9000000000,,,\n"  # 9 x 10**14 fen: fits
        "BIG-4,online,2024-05-20,HD-1,1000,9000000000,,,\n"  # the order's total does not
    )
    args = ["--dry-run"] if dry_run else []
    result = run(runner, tmp_path, "sales", content, *args)
    assert result.exit_code == 1, result.output
    assert "row 3: unit_price:" in result.output
    assert "row 5: unit_price:" in result.output
    assert "row 2:" not in result.output and "row 4:" not in result.output
    assert "nothing written" in result.output
    assert count(Order) == count(OrderLine) == count(Attribution) == 0


def test_imported_attribution_is_the_per_line_split_of_every_line(runner, tmp_path):
    """The import computes attribution for all lines at once: each line's rows must be
    exactly ``split`` of that line over the link version in force on its date (weight ties
    to the lower code, remainders, fractional weights, a version changing mid-year)."""
    import random

    from catalog.models import BenefitLink
    from orders.ledger.attribution import Share, split

    vendor = OrgFactory(code="V009", name="石山合作社")
    # created in reverse code order, so ties broken by id would differ from by code
    households = [HouseholdFactory(code=f"T{n:03d}") for n in (9, 7, 5, 3, 1)]
    tied = ProductFactory(sku="TIE-1", vendor=vendor)
    mixed = ProductFactory(sku="MIX-1", vendor=vendor)
    changing = ProductFactory(sku="CHG-1", vendor=vendor)
    ProductFactory(sku="NONE-1", vendor=vendor)
    for household in households[:3]:
        BenefitLinkFactory(product=tied, household=household, weight=Decimal(2))
    for household, weight in zip(households, ("0.5", "1.25", "3", "1.25", "0.333"), strict=True):
        BenefitLinkFactory(product=mixed, household=household, weight=Decimal(weight))
    for household in households[1:4]:
        BenefitLinkFactory(product=changing, household=household, weight=Decimal(1))
    for household, weight in ((households[0], 7), (households[4], 7)):
        BenefitLinkFactory(
            product=changing,
            household=household,
            weight=Decimal(weight),
            valid_from=date(2024, 7, 1),
        )
    db.session.commit()

    rng = random.Random(15)
    rows = []
    for order in range(60):  # two lines per sale_ref, on the sale's one date
        day = date(2024, rng.randrange(1, 13), rng.randrange(1, 29))
        for _ in range(2):
            sku = rng.choice(["TIE-1", "MIX-1", "CHG-1", "NONE-1"])
            price = rng.choice(["0.01", "0.02", "0.05", "0.07", "1.01", "999.99", "3.33"])
            rows.append(f"R-{order},counter,{day},{sku},{rng.randint(1, 7)},{price},,,\n")
    result = run(runner, tmp_path, "sales", SALES_HEADER + "".join(rows))
    assert result.exit_code == 0, result.output

    links = db.session.execute(
        select(
            BenefitLink.product_id,
            BenefitLink.valid_from,
            BenefitLink.household_id,
            BenefitLink.weight,
            Household.code,
            Household.village_id,
        ).join(Household, Household.id == BenefitLink.household_id)
    ).all()
    checked = 0
    for line in db.session.scalars(
        select(OrderLine).join(Order).where(Order.external_ref.like("R-%"))
    ):
        day = line.order.sale_date
        versions = [
            link.valid_from
            for link in links
            if link.product_id == line.product_id and link.valid_from <= day
        ]
        in_force = [
            link
            for link in links
            if versions and link.product_id == line.product_id and link.valid_from == max(versions)
        ]
        shares = [
            Share((link.household_id, link.village_id), link.code, link.weight) for link in in_force
        ]
        expected = (
            sorted(split(line.amount, sorted(shares, key=lambda s: s.code)))
            if shares
            else [((None, None), line.amount)]
        )
        written = db.session.execute(
            select(
                Attribution.household_id,
                Attribution.village_id,
                Attribution.amount,
                Attribution.sale_date,
                Attribution.certified,
                Attribution.product_id,
                Attribution.vendor_id,
                Attribution.order_id,
            ).where(Attribution.order_line_id == line.id)
        ).all()
        assert sorted(((h, v), a) for h, v, a, *_ in written) == expected, line.id
        assert {tuple(w[3:]) for w in written} == {
            (day, line.certified, line.product_id, line.vendor_id, line.order_id)
        }
        checked += 1
    assert checked == 120
