"""Fairs: the state machine, who may sell, what may be sold, tokens, voids, closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from catalog.models import Certification, CertStatus
from catalog.sellability import NotCertified
from marketplace.clock import local_today, utcnow
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.fairs import fairs, stalls
from orders.fairs.models import FairStatus, StallSale, StallStatus
from orders.ledger.models import Attribution, Order
from vendors import stock
from vendors.models import StockLevel, StockMovement
from vendors.stock import WAREHOUSE, OutOfStock

from ..factories import MembershipFactory, OrgFactory
from ..fair_helpers import organizer, stall_at_fair
from ..vendor_factories import SellableProductFactory, StockedProductFactory


def sell(s, token="tok-00001", qty=1, method="cash", price=None, made_at=None, product=None):
    line = stalls.SaleLine((product or s.product).id, qty, price)
    return stalls.record_stall_sale(
        s.seller, s.vendor, s.fair.id, token, [line], method, made_at=made_at
    ).sale


def stall_units(s, product=None):
    return stock.available((product or s.product).id, fairs.stall_place(s.stall))


def warehouse_units(s, product=None):
    return stock.available((product or s.product).id, WAREHOUSE)


# ---------------------------------------------------------------- the state machine


def test_no_sale_before_the_fair_opens():
    s = stall_at_fair(open_=False)
    with pytest.raises(IllegalTransition):
        sell(s)
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_a_fair_opens_only_on_its_date_and_only_once():
    boss = organizer()
    org = boss.memberships[0].org
    later = fairs.plan_fair(
        boss, org, fairs.FairPlan("明日集市", local_today() + timedelta(days=1), "广场", "秀英区")
    )
    with pytest.raises(IllegalTransition):
        fairs.open_fair(boss, org, later.id)
    today = fairs.plan_fair(boss, org, fairs.FairPlan("今日集市", local_today(), "广场", "秀英区"))
    fairs.open_fair(boss, org, today.id)
    with pytest.raises(IllegalTransition):
        fairs.open_fair(boss, org, today.id)


def test_cancel_only_before_opening_and_goods_go_back():
    s = stall_at_fair(open_=False)
    fairs.cancel_fair(s.organizer, s.organizer_org, s.fair.id, "台风")
    assert s.fair.status == FairStatus.CANCELLED
    assert stall_units(s) == 0 and warehouse_units(s) == 20
    opened = stall_at_fair()
    with pytest.raises(IllegalTransition):
        fairs.cancel_fair(opened.organizer, opened.organizer_org, opened.fair.id, "台风")
    with pytest.raises(ValidationError):
        fairs.cancel_fair(opened.organizer, opened.organizer_org, opened.fair.id, " ")


def test_no_sale_after_close_and_a_closed_fair_cannot_be_cancelled():
    s = stall_at_fair()
    fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)
    with pytest.raises(IllegalTransition):
        sell(s)  # made now, after the close
    with pytest.raises(IllegalTransition):
        fairs.cancel_fair(s.organizer, s.organizer_org, s.fair.id, "晚了")
    with pytest.raises(IllegalTransition):
        fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)


def test_an_offline_sale_made_before_close_is_accepted_late_within_the_grace(frozen_clock):
    s = stall_at_fair()
    made = utcnow()
    frozen_clock(datetime.now(UTC) + timedelta(minutes=5))
    fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)
    assert stall_units(s) == 0 and warehouse_units(s) == 20
    frozen_clock(datetime.now(UTC) + timedelta(minutes=30))
    sale = sell(s, made_at=made, qty=2)
    assert sale.late is True
    assert sale.order.total == 5000 and sale.order.sale_date == s.fair.date
    assert stall_units(s) == 0 and warehouse_units(s) == 18
    # a sale made after the close, or synced after the grace, is refused
    with pytest.raises(IllegalTransition):
        sell(s, token="tok-after-close", made_at=utcnow())
    frozen_clock(datetime.now(UTC) + stalls.LATE_SYNC_GRACE + timedelta(minutes=10))
    with pytest.raises(IllegalTransition):
        sell(s, token="tok-too-late", made_at=made)


def test_organizer_scope_another_organizers_fair_is_not_found():
    s = stall_at_fair(open_=False)
    other = organizer()
    with pytest.raises(NotFound):
        fairs.open_fair(other, other.memberships[0].org, s.fair.id)


def test_the_bureau_may_organize_any_fair():
    s = stall_at_fair(open_=False)
    staff = MembershipFactory(org=OrgFactory(kind=OrgKind.BUREAU), role=Role.STAFF).user
    fairs.open_fair(staff, staff.memberships[0].org, s.fair.id)
    assert s.fair.status == FairStatus.OPEN


# ---------------------------------------------------------------- who and what may sell


def test_only_admitted_vendors_sell():
    s = stall_at_fair()
    other = OrgFactory(kind=OrgKind.COOPERATIVE)
    seller = MembershipFactory(org=other, role=Role.STAFF).user
    product = SellableProductFactory(vendor=other)
    stall = fairs.apply_for_stall(seller, other, s.fair.id, "")
    line = [stalls.SaleLine(product.id, 1)]
    with pytest.raises(IllegalTransition):
        stalls.record_stall_sale(seller, other, s.fair.id, "tok-applied", line, "cash")
    fairs.refuse_stall(s.organizer, s.organizer_org, stall.id, "摊位已满")
    assert stall.status == StallStatus.REFUSED
    with pytest.raises(IllegalTransition):
        stalls.record_stall_sale(seller, other, s.fair.id, "tok-refused", line, "cash")
    stranger = OrgFactory(kind=OrgKind.COOPERATIVE)
    worker = MembershipFactory(org=stranger, role=Role.STAFF).user
    with pytest.raises(NotFound):
        stalls.record_stall_sale(worker, stranger, s.fair.id, "tok-nostall", line, "cash")


def test_a_product_not_certified_on_the_fair_day_is_refused():
    s = stall_at_fair()
    db.session.execute(
        Certification.__table__.update()
        .where(Certification.product_id == s.product.id)
        .values(status=CertStatus.REVOKED)
    )
    db.session.commit()
    with pytest.raises(NotCertified):
        sell(s)
    assert stall_units(s) == 10


def test_a_product_not_stocked_at_the_stall_is_refused():
    s = stall_at_fair()
    other = SellableProductFactory(vendor=s.vendor, stock=5)  # in the warehouse only
    with pytest.raises(OutOfStock):
        sell(s, product=other)
    assert warehouse_units(s, other) == 5


def test_another_vendors_product_is_not_found():
    s = stall_at_fair()
    foreign = StockedProductFactory()
    with pytest.raises(NotFound):
        sell(s, product=foreign)


def test_a_sale_beyond_the_stall_stock_is_refused():
    s = stall_at_fair(at_stall=3)
    with pytest.raises(OutOfStock):
        sell(s, qty=4)
    assert stall_units(s) == 3
    assert db.session.scalar(select(func.count(StallSale.id))) == 0


def test_the_price_defaults_and_a_discount_stays_within_bounds():
    s = stall_at_fair(price=2000)
    assert sell(s, qty=2).order.total == 4000
    assert sell(s, token="tok-discount", price=1500).order.total == 1500
    with pytest.raises(ValidationError):
        sell(s, token="tok-too-cheap", price=999)
    with pytest.raises(ValidationError):
        sell(s, token="tok-too-dear", price=2001)


def test_only_in_person_payments_and_a_valid_token():
    s = stall_at_fair()
    with pytest.raises(ValidationError):
        sell(s, method="card")
    with pytest.raises(ValidationError):
        sell(s, token="x")


def test_a_sale_enters_the_ledger_under_fair_with_attribution():
    s = stall_at_fair()
    sale = sell(s, qty=3, method="wechat")
    order = sale.order
    assert (order.channel, order.status, order.payment_method) == ("fair", "paid", "wechat")
    assert order.fair_id == s.fair.id and order.sale_date == s.fair.date
    attributed = db.session.scalar(
        select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
    )
    assert attributed == order.total == 7500
    assert stall_units(s) == 7 and warehouse_units(s) == 10


def test_the_same_token_twice_records_one_sale():
    s = stall_at_fair()
    first = sell(s, token="tok-twice-1", qty=2)
    line = [stalls.SaleLine(s.product.id, 2)]
    again = stalls.record_stall_sale(s.seller, s.vendor, s.fair.id, "tok-twice-1", line, "cash")
    assert again.repeat is True and again.sale.id == first.id
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert stall_units(s) == 8


def test_another_vendors_token_is_not_revealed():
    s = stall_at_fair()
    sell(s, token="tok-secret-1")
    t = stall_at_fair()
    with pytest.raises(NotFound):
        sell(t, token="tok-secret-1")


# ---------------------------------------------------------------- voids


def test_a_void_restores_stock_and_reverses_attribution_exactly():
    s = stall_at_fair()
    sale = sell(s, qty=3)
    stalls.void_stall_sale(s.seller, s.vendor, sale.id, "录错数量")
    order = db.session.get(Order, sale.order_id)
    assert order.refunded == order.total == 7500
    net = db.session.scalar(
        select(func.sum(Attribution.amount)).where(Attribution.order_id == order.id)
    )
    assert net == 0
    per_household = db.session.execute(
        select(Attribution.household_id, func.sum(Attribution.amount))
        .where(Attribution.order_id == order.id)
        .group_by(Attribution.household_id)
    ).all()
    assert all(amount == 0 for _h, amount in per_household)
    assert stall_units(s) == 10
    with pytest.raises(IllegalTransition):
        stalls.void_stall_sale(s.seller, s.vendor, sale.id, "再来一次")
    assert stall_units(s) == 10
    assert stalls.fair_totals(s.fair.id).amount == 0


def test_a_void_needs_a_reason_and_an_open_fair():
    s = stall_at_fair()
    sale = sell(s)
    with pytest.raises(ValidationError):
        stalls.void_stall_sale(s.seller, s.vendor, sale.id, "")
    fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)
    with pytest.raises(IllegalTransition):
        stalls.void_stall_sale(s.seller, s.vendor, sale.id, "闭市后")


# ---------------------------------------------------------------- stock at the stall


def test_closing_returns_unsold_stock_and_balances_equal_the_movements():
    s = stall_at_fair(warehouse=30, at_stall=12)
    sell(s, qty=2)
    sale = sell(s, token="tok-void-me", qty=1)
    stalls.void_stall_sale(s.seller, s.vendor, sale.id, "顾客退货")
    stalls.write_off_at_stall(s.seller, s.vendor, s.fair.id, s.product.id, 1, "spoiled", "压坏")
    moved = fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)
    assert moved == 1
    assert stall_units(s) == 0
    assert warehouse_units(s) == 30 - 2 - 1
    levels = db.session.execute(
        select(StockLevel.location_id, StockLevel.on_hand).where(
            StockLevel.product_id == s.product.id
        )
    ).all()
    for location_id, on_hand in levels:
        ledger = db.session.scalar(
            select(func.sum(StockMovement.on_hand_delta)).where(
                StockMovement.product_id == s.product.id,
                StockMovement.location_id == location_id,
            )
        )
        assert ledger == on_hand
    assert len(levels) == 2


def test_stock_moves_to_the_stall_only_for_an_admitted_vendor_of_a_live_fair():
    s = stall_at_fair(at_stall=0, open_=False)
    other = OrgFactory(kind=OrgKind.COOPERATIVE)
    seller = MembershipFactory(org=other, role=Role.STAFF).user
    product = StockedProductFactory(vendor=other)
    fairs.apply_for_stall(seller, other, s.fair.id, "")
    with pytest.raises(IllegalTransition):
        stalls.move_to_stall(seller, other, s.fair.id, product.id, 1)
    with pytest.raises(OutOfStock):
        stalls.move_to_stall(s.seller, s.vendor, s.fair.id, s.product.id, 21)
    stalls.move_to_stall(s.seller, s.vendor, s.fair.id, s.product.id, 5)
    stalls.move_from_stall(s.seller, s.vendor, s.fair.id, s.product.id, 2)
    assert stall_units(s) == 3 and warehouse_units(s) == 17


def test_a_write_off_needs_a_reason_and_stock():
    s = stall_at_fair(at_stall=2)
    with pytest.raises(ValidationError):
        stalls.write_off_at_stall(s.seller, s.vendor, s.fair.id, s.product.id, 1, "lost")
    with pytest.raises(OutOfStock):
        stalls.write_off_at_stall(s.seller, s.vendor, s.fair.id, s.product.id, 3, "damaged")
    stalls.write_off_at_stall(s.seller, s.vendor, s.fair.id, s.product.id, 2, "damaged")
    assert stall_units(s) == 0
    movement = db.session.scalar(select(StockMovement).order_by(StockMovement.id.desc()))
    assert (movement.kind, movement.reason, movement.on_hand_delta) == (
        "adjustment",
        "damaged",
        -2,
    )


def test_a_vendor_applies_once_and_a_decision_is_made_once():
    s = stall_at_fair(open_=False)
    with pytest.raises(ValidationError):
        fairs.apply_for_stall(s.seller, s.vendor, s.fair.id, "again")
    with pytest.raises(IllegalTransition):
        fairs.refuse_stall(s.organizer, s.organizer_org, s.stall.id, "晚了")


def test_fair_totals_by_vendor_product_and_payment():
    s = stall_at_fair()
    sell(s, token="tok-t-0001", qty=1, method="cash")
    sell(s, token="tok-t-0002", qty=2, method="wechat")
    sell(s, token="tok-t-0003", qty=1, method="alipay")
    totals = stalls.fair_totals(s.fair.id)
    assert (totals.orders, totals.amount) == (3, 10000)
    assert totals.by_vendor == [("椰乡合作社", 3, 10000)]
    assert totals.by_product == [(s.product.name, 4, 10000)]
    assert sorted(totals.by_payment) == [
        ("alipay", 1, 2500),
        ("cash", 1, 2500),
        ("wechat", 1, 5000),
    ]
