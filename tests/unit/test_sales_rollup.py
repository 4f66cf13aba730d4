"""The sales rollup every report reads is exact: after sales on every channel, partial
and full refunds, an import and a failed sale, each report figure computed from the
rollup equals the same figure computed from the raw attribution rows, for whole
periods, whole years and periods that cut months; the rollup kept in step equals the
one rebuilt from the raw rows; and the reports do read it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, select, text, update

from catalog.models import Product
from marketplace import importing
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.unit_of_work import unit_of_work
from orders.ledger import rollup
from orders.ledger.imports import SalesImport
from orders.ledger.models import MONTH_ROWS, YEAR_ROWS, Channel, SalesRollup
from orders.ledger.services import SaleItem, record_paid_sale, refund
from orders.reports import breakdowns, public, views
from orders.reports import households as household_reports
from orders.reports.breakdowns import DIMENSIONS, Period
from orders.reports.fairs import fair_season
from orders.reports.source import cuts_months, materialized, raw_rows
from orders.reports.summary import summary
from tests.unit.test_reports_breakdowns import build_ledger

# build_ledger's 303.33, the import's 65.00 + 29.97 + 70.00 + 66.00 + 80.00, and what is
# left of the refunded sale, 5.00
TOTAL = 30333 + 31097 + 500

PERIODS = [
    Period(),
    Period(date(2024, 1, 1), date(2024, 12, 31)),  # a whole year: the rollup alone
    Period(date(2024, 2, 1), date(2024, 2, 29)),  # a whole month
    Period(date(2023, 5, 10), date(2024, 7, 1)),  # cuts a month at each end
    Period(date(2024, 7, 2), date(2024, 7, 20)),  # inside one month
    Period(date(2024, 3, 15), None),  # open end, cut start
    Period(None, date(2024, 7, 1)),  # open start, cut end
    Period(date(2023, 5, 1), date(2025, 1, 31)),  # months, a whole year, a month
    Period(date(2023, 5, 20), date(2025, 1, 1)),  # cut, months, a year, cut
    Period(date(2024, 1, 1), None),  # whole years, open end
    Period(date(1, 1, 1), date(9999, 12, 31)),  # the ends of time
    Period(date(9999, 3, 5), date(9999, 12, 31)),
    Period(date(9999, 12, 5), None),
]
EMPTY = {date(9999, 3, 5), date(9999, 12, 5)}  # periods without sales

SALES_CSV = (
    "sale_ref,channel,date,sku,quantity,unit_price,fair_code,buyer,payment_method\n"
    "R-1,online,2024-07-15,RICE,2,12.50,,,wechat\n"
    "R-1,online,2024-07-15,TEA,1,40.00,,,wechat\n"
    "R-2,fair,2024-02-01,TEA,3,9.99,F-1,,cash\n"
    "R-3,procurement,2023-05-31,RICE,7,10.00,,市教育局,bank_transfer\n"
    "R-4,counter,2025-01-01,HONEY,1,66.00,,百佳超市专柜,card\n"
    "R-5,counter,2024-12-31,TEA,4,20.00,,百佳超市专柜,card\n"
)


def _figures(period: Period) -> dict:
    """Every figure the reports show for the period, in comparable form."""
    s = summary(period.date_from, period.date_to)
    result = {
        "summary": s.to_json(),
        "monthly": [(m.month, m.amounts) for m in breakdowns.monthly_by_channel(period)],
        "households": household_reports.households_rows(period),
    }
    geo = breakdowns.geography(period)
    result["geo"] = (geo.rows, geo.unattributed)
    for row in geo.rows:
        district = breakdowns.geography(period, district_id=row.id)
        result[f"geo-d{row.id}"] = district.rows
        for town in district.rows:
            result[f"geo-t{town.id}"] = breakdowns.geography(period, town_id=town.id).rows
    for name in DIMENSIONS:
        result[name] = breakdowns.dimension_rows(name, period)
        # the dashboard's short list ranks the keys first: the same first rows
        assert breakdowns.dimension_rows(name, period, limit=2) == result[name][:2]
    impact = public.impact(period)
    result["impact"] = (impact.total, impact.years, impact.channels)
    result["headline"] = public.headline(period)
    result["fairs"] = fair_season(period.date_from, period.date_to).to_json()
    return result


def _mixed_ledger():
    ledger = build_ledger()
    run_import(SalesImport("test"), SALES_CSV.encode())
    # more refunds: a whole line of the fair sale, part of an online sale
    sale = record_paid_sale(
        Channel.ONLINE,
        [SaleItem(ledger.products["tea"], 5, 999), SaleItem(ledger.products["rice"], 2, 500)],
        sale_date=date(2024, 7, 20),
        check_sellable=False,
    )
    refund(sale, [(sale.lines[0].id, 5)], reason="整单退")
    refund(sale, [(sale.lines[1].id, 1)], reason="部分退")
    # a sale whose transaction fails adds nothing to the rollup
    with pytest.raises(RuntimeError), unit_of_work():
        record_paid_sale(
            Channel.COUNTER,
            [SaleItem(ledger.products["rice"], 1, 100_000)],
            sale_date=date(2024, 7, 3),
            check_sellable=False,
        )
        raise RuntimeError("after the sale, before the commit")
    return ledger


def _rollup_rows() -> set:
    return set(
        db.session.execute(
            select(*[SalesRollup.__table__.c[k] for k in rollup.KEY], SalesRollup.amount)
        ).all()
    )


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_every_report_from_the_rollup_equals_the_raw_rows(period):
    _mixed_ledger()
    from_rollup = _figures(period)
    with raw_rows():
        from_raw = _figures(period)
    assert from_rollup == from_raw
    assert (from_rollup["summary"]["total_amount"] == "0.00") == (period.date_from in EMPTY)


@pytest.mark.parametrize("period", [p for p in PERIODS if cuts_months(p)], ids=str)
def test_every_report_from_the_materialized_period_equals_the_raw_rows(period):
    """The dashboard reads a period cutting months once into a temporary table: each
    report read from it equals the raw rows, and the table is gone afterwards."""
    _mixed_ledger()
    with raw_rows():
        from_raw = _figures(period)
    tables = set(inspect(db.session.connection()).get_table_names())
    with materialized(period):
        assert _figures(period) == from_raw
    assert set(inspect(db.session.connection()).get_table_names()) == tables


def test_a_read_only_transaction_reads_the_rows_as_usual():
    """On a read replica (a read-only transaction) nothing is materialized: the same
    figures."""
    _mixed_ledger()
    period = Period(date(2023, 5, 10), date(2024, 7, 1))
    expected = _figures(period)
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("read-only transactions are PostgreSQL's")
    db.session.commit()
    db.session.execute(text("SET TRANSACTION READ ONLY"))
    with materialized(period):
        assert _figures(period) == expected
    db.session.rollback()


def test_the_failed_sale_left_nothing_and_the_totals_are_the_ledgers():
    _mixed_ledger()
    s = summary()
    assert s.total_amount == TOTAL
    for span in (MONTH_ROWS, YEAR_ROWS):
        rows = db.session.scalars(select(SalesRollup).where(SalesRollup.span == span))
        assert sum(r.amount for r in rows) == s.total_amount


def test_rollup_kept_in_step_equals_the_rollup_rebuilt(runner):
    _mixed_ledger()
    kept = _rollup_rows()
    assert kept
    db.session.execute(SalesRollup.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["report", "rebuild-rollup"])
    assert result.exit_code == 0, result.output
    assert f"sales rollup rebuilt: {len(kept)} rows" in result.output
    assert _rollup_rows() == kept


def test_a_sales_import_analyzes_the_rollup_it_wrote(monkeypatch):
    """Every import leaves the database ready: the rollup written at its commit is among
    the tables ANALYZEd."""
    build_ledger()
    analyzed = []
    monkeypatch.setattr(importing, "analyze", lambda tables: analyzed.append(set(tables)))
    run_import(SalesImport("test"), SALES_CSV.encode())
    assert analyzed and {"attributions", "sales_rollup"} <= analyzed[0]


def test_reports_read_the_rollup(runner):
    """Change the rollup behind the ledger's back: the reports move, the raw rows do not
    (and the summary's JSON is the same again once it is rebuilt)."""
    _mixed_ledger()
    before = json.loads(runner.invoke(args=["report", "summary", "--format", "json"]).output)
    db.session.execute(update(SalesRollup).values(amount=SalesRollup.amount * 2))
    db.session.commit()
    assert summary().total_amount == 2 * (TOTAL)
    with raw_rows():
        assert summary().total_amount == TOTAL
    runner.invoke(args=["report", "rebuild-rollup"])
    after = json.loads(runner.invoke(args=["report", "summary", "--format", "json"]).output)
    assert after == before


def _split_periods() -> list[Period]:
    today = local_today()
    start = today.replace(day=1)
    return [
        *PERIODS,
        Period(date(2024, 3, 15), today),  # closed months, then this month up to today
        Period(date(2024, 1, 1), start - timedelta(days=1)),  # closed months only
        Period(start, None),  # this month on only
        Period(today, today),
        Period(start - timedelta(days=3), start + timedelta(days=3)),  # across the start
    ]


@pytest.mark.parametrize("index", range(len(PERIODS) + 5))
def test_the_dashboards_closed_and_live_months_add_up_to_the_raw_rows(index):
    """The dashboard's order counts, months, shipping fees and breakdown amounts,
    computed as the closed months plus the current one, equal the whole period's from
    the raw rows, and rank the top lists as the database does."""
    period = _split_periods()[index]
    _mixed_ledger()
    today = local_today()
    ledger_products = {p.sku: p for p in db.session.scalars(select(Product))}
    for day in (today, today.replace(day=1) - timedelta(days=1)):
        record_paid_sale(
            Channel.ONLINE,
            [SaleItem(ledger_products["RICE"], 3, 700)],
            sale_date=day,
            check_sellable=False,
        )
    split = views.split_monthly_parts(period)
    with raw_rows():
        whole = views.monthly_parts(period)
        assert split == whole
        # the top lists ranked from these amounts: the keys the database ranks first
        for name in breakdowns.ID_DIMENSIONS:
            for limit in (1, 2, 10):
                assert breakdowns.top_keys(split.amounts[name], limit) == (
                    breakdowns._top_keys(DIMENSIONS[name], period, limit)
                )
