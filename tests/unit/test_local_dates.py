"""Sales land in the local month: the sale date, "today" for certification and order
numbers, and the times people see are local to the configured zone (Asia/Shanghai), not
UTC. The clock is moved with ``frozen_clock``, never slept on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from catalog.models import CertStatus
from catalog.sellability import NotCertified
from marketplace import clock
from marketplace.config import ConfigError, load_config
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.ledger.models import Attribution, Order
from orders.shop.cart import check_addable
from orders.shop.checkout import place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.stock import Goods, Ref

from ..catalog_factories import BenefitLinkFactory, CertificationFactory
from ..factories import MembershipFactory, UserFactory, member_of
from .test_reports_pages import page_tables, plain
from .test_shop_core import address

# 00:30 on 1 December 2026 in Beijing is still 30 November in UTC
PAID_AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
DECEMBER = date(2026, 12, 1)


def certified_product(certified_on=date(2026, 1, 1), valid_until=date(2027, 6, 30), units=5):
    product = CertificationFactory(
        certified_on=certified_on, valid_until=valid_until, product__price=4250
    ).product
    BenefitLinkFactory(product=product)
    stock.receive([Goods(product.id, units)], Ref("test"))
    return product


def paid_order(frozen_clock, buyer, product, at=PAID_AT) -> Order:
    frozen_clock(at - timedelta(minutes=10))
    order = place_order(buyer, {product.id: 2}, address(), token=f"t-{buyer.id}")
    frozen_clock(at)
    assert complete_payment("test", start_payment(order).reference).status == "paid"
    return order


def summary_json(runner, first: str, last: str) -> dict:
    result = runner.invoke(
        args=["report", "summary", "--from", first, "--to", last, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_local_date_of_a_utc_timestamp():
    assert clock.local_date(datetime(2026, 11, 30, 16, 30)) == DECEMBER
    assert clock.local_date(datetime(2026, 11, 30, 15, 59)) == date(2026, 11, 30)
    assert clock.day_start_utc(DECEMBER) == datetime(2026, 11, 30, 16, 0)
    assert clock.day_end_utc(DECEMBER) == datetime(2026, 12, 1, 16, 0)


def test_a_sale_paid_after_local_midnight_on_the_1st_counts_in_that_month(
    app, client, auth, runner, frozen_clock
):
    product = certified_product()
    order = paid_order(frozen_clock, UserFactory(), product)
    db.session.expire_all()
    assert order.paid_at == datetime(2026, 11, 30, 16, 30)  # stored in UTC
    assert order.sale_date == DECEMBER  # dated in Beijing
    assert order.number.startswith("ON20261201-")
    assert {a.sale_date for a in db.session.scalars(select(Attribution))} == {DECEMBER}

    december = summary_json(runner, "2026-12-01", "2026-12-31")
    assert december["channels"]["online"] == {"orders": 1, "amount": "85.00"}
    assert december["total_amount"] == "85.00"
    november = summary_json(runner, "2026-11-01", "2026-11-30")
    assert november["channels"]["online"] == {"orders": 0, "amount": "0.00"}

    auth.login(member_of(kind=OrgKind.BUREAU, role=Role.STAFF).email)
    page = client.get("/bureau/reports?from=2026-12-01&to=2026-12-31").get_data(as_text=True)
    assert 'data-figure="total_amount">85.00<' in page
    months = page_tables(client.get("/bureau/reports").get_data(as_text=True))["monthly"]
    assert [plain(cell) for cell in months[0][:2]] == ["2026-12", "85.00"]
    assert all(not row[0].startswith("2026-11") for row in months)
    page = client.get("/bureau/reports?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert 'data-figure="total_amount">0.00<' in page


def test_order_pages_show_local_times(client, auth, frozen_clock):
    buyer = UserFactory()
    order = paid_order(frozen_clock, buyer, certified_product())
    auth.login(buyer.email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "2026-12-01 00:20" in page  # ordered
    assert "2026-11-30 16:" not in page  # never the raw UTC time

    seller = MembershipFactory(org=order.lines[0].vendor, role=Role.ADMIN).user
    auth.logout()
    auth.login(seller.email)
    response = client.get(f"/vendor/orders/{order.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2026-12-01 00:30" in page and "2026-11-30 16:30" not in page  # paid

    auth.logout()
    auth.login(member_of(kind=OrgKind.BUREAU, role=Role.ADMIN).email)
    page = client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)
    assert "2026-12-01 00:30" in page and "2026-11-30 16:30" not in page


@pytest.mark.parametrize(
    "moment, sellable",
    [
        (datetime(2026, 11, 30, 15, 59, tzinfo=UTC), False),  # 23:59 on 30 Nov in Beijing
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), True),  # midnight: 1 December
    ],
)
def test_certification_starts_on_the_local_day(frozen_clock, moment, sellable):
    product = certified_product(certified_on=DECEMBER, valid_until=date(2027, 11, 30))
    frozen_clock(moment)
    if sellable:
        assert check_addable(product.id, 1) == product
    else:
        with pytest.raises(NotCertified):
            check_addable(product.id, 1)


def test_certification_ends_with_the_local_day(frozen_clock):
    product = certified_product(certified_on=date(2026, 1, 1), valid_until=date(2026, 11, 30))
    frozen_clock(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))
    check_addable(product.id, 1)
    frozen_clock(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 1 December in Beijing
    with pytest.raises(NotCertified):
        check_addable(product.id, 1)


def test_public_pages_use_the_local_today(client, frozen_clock):
    product = certified_product(certified_on=DECEMBER, valid_until=date(2027, 11, 30))
    frozen_clock(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert client.get(f"/products/{product.id}").status_code == 404  # not certified yet
    frozen_clock(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    assert client.get(f"/products/{product.id}").status_code == 200


def test_the_zone_is_configurable(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", "America/New_York")
    assert clock.local_date(datetime(2026, 12, 1, 3, 0)) == date(2026, 11, 30)
    assert load_config("/tmp", {"SECRET_KEY": "x"})["TIMEZONE"] == "Asia/Shanghai"
    with pytest.raises(ConfigError, match="TIMEZONE"):
        load_config("/tmp", {"SECRET_KEY": "x", "TIMEZONE": "Mars/Olympus"})


def test_the_stock_history_filters_by_local_day(client, auth, frozen_clock):
    vendor_user = member_of(kind=OrgKind.COOPERATIVE)
    org = vendor_user.memberships[0].org
    product = CertificationFactory(product__vendor=org).product
    frozen_clock(PAID_AT)  # a receipt at 00:30 on 1 December, Beijing time
    stock.receive([Goods(product.id, 7)], Ref("test"))
    auth.login(vendor_user.email)

    def rows(query: str) -> str:
        response = client.get(f"/vendor/stock/movements?{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "2026-12-01 00:30" in rows("from=2026-12-01&to=2026-12-01")
    assert "2026-12-01 00:30" not in rows("from=2026-11-30&to=2026-11-30")
    # the ends of the calendar are clamped, not a 500
    page = rows("from=0001-01-01&to=9999-12-31")
    assert "2026-12-01 00:30" in page and 'value="1900-01-01"' in page


def test_certification_status_is_approved_by_default():
    # the factory's defaults cover the local today, whatever the server's zone
    cert = CertificationFactory()
    assert cert.status == CertStatus.APPROVED
    assert cert.certified_on <= clock.local_today() <= cert.valid_until
