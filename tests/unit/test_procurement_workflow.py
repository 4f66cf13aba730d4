"""The procurement workflow: every legal step works, every other one raises and changes
nothing; who may take each step; stock at confirmation, acceptance and cancellation; the
ledger entry at payment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.errors import Forbidden, IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.ledger.models import Attribution, Channel, Order
from orders.procurement import services
from orders.procurement.models import ProcurementEvent, ProcurementOrder
from orders.procurement.models import ProcurementStatus as S
from vendors import stock

from .. import procurement_helpers as h
from ..factories import member_of
from ..stock_helpers import warehouse_level


@pytest.fixture
def ag():
    return h.agency("海口市教育局")


@pytest.fixture
def ven():
    return h.vendor()


@pytest.fixture
def goods(ven):
    return h.product(ven, name="火山荔枝", sku="LZ-20")


def events(order) -> list[tuple]:
    return [
        (e.action, e.from_status, e.to_status)
        for e in db.session.scalars(
            select(ProcurementEvent)
            .where(ProcurementEvent.order_id == order.id)
            .order_by(ProcurementEvent.id)
        )
    ]


# ---------------------------------------------------------------- the state table


def call(action: str, order, ag, ven):
    """Take ``action`` on ``order`` with valid input by the right person."""
    full = {line.id: line.quantity for line in order.lines}
    if action == "submit":
        return services.submit(ag.buyer, ag.org, order.id)
    if action == "approve":
        return services.approve(ag.approver, ag.org, order.id)
    if action == "reject":
        return services.reject(ag.approver, ag.org, order.id, "预算不足")
    if action == "cancel":
        return services.cancel(ag.buyer, ag.org, order.id, "不需要了")
    if action == "confirm":
        return services.confirm(ven.staff, ven.org, order.id)
    if action == "decline":
        return services.decline(ven.staff, ven.org, order.id, "缺货")
    if action == "ship":
        return services.ship(ven.staff, ven.org, order.id, full)
    if action == "accept":
        received = {line.id: line.shipped_quantity or line.quantity for line in order.lines}
        return services.accept(ag.buyer, ag.org, order.id, received)
    if action == "invoice":
        return services.invoice(
            ven.staff,
            ven.org,
            order.id,
            services.Invoice("No1", local_today(), order.accepted_total, "单位", "1" * 18),
        )
    if action == "pay":
        return services.pay(
            ag.buyer, ag.org, order.id, services.TransferPayment("HX1", local_today())
        )
    raise AssertionError(action)


def order_in(state: str, ag, ven, goods) -> ProcurementOrder:
    """An order in ``state``, reached through the services, with its stock as it would be."""
    if state in h.STEPS:
        return h.walk(ag, ven, {goods: 20}, state)
    if state == "draft":
        order = h.walk(ag, ven, {goods: 20}, "submitted")
        services.reject(ag.approver, ag.org, order.id, "改一下")
        return order
    if state == "declined":
        order = h.walk(ag, ven, {goods: 20}, "approved")
        services.decline(ven.staff, ven.org, order.id, "缺货")
        return order
    if state == "cancelled":
        order = h.walk(ag, ven, {goods: 20}, "submitted")
        services.cancel(ag.buyer, ag.org, order.id, "不要了")
        return order
    raise AssertionError(state)


def snapshot(order) -> tuple:
    db.session.expire_all()
    fresh = db.session.get(ProcurementOrder, order.id)
    level = warehouse_level(fresh.lines[0].product_id)
    return (
        fresh.status,
        fresh.accepted_total,
        fresh.invoice_no,
        fresh.payment_ref,
        [(ln.shipped_quantity, ln.received_quantity) for ln in fresh.lines],
        len(fresh.events),
        level.on_hand,
        level.reserved,
        db.session.scalar(select(func.count(Order.id))),
    )


VENDOR_STEPS = {"confirm", "decline", "ship", "invoice"}
CASES = [(state, action) for state in S for action in services.TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), CASES)
def test_every_step_from_every_state(state, action, ag, ven, goods):
    order = order_in(state, ag, ven, goods)
    allowed, target = services.TRANSITIONS[action]
    before = snapshot(order)
    if state in allowed:
        call(action, order, ag, ven)
        db.session.expire_all()
        assert db.session.get(ProcurementOrder, order.id).status == target
        assert events(order)[-1] == (action, state, target)
    else:
        # a vendor never sees an order its agency has not approved
        unseen = action in VENDOR_STEPS and state in ("draft", "submitted", "cancelled")
        with pytest.raises(NotFound if unseen else IllegalTransition):
            call(action, order, ag, ven)
        db.session.rollback()
        assert snapshot(order) == before


def test_the_table_names_every_state_and_its_legal_moves():
    legal = {(s, a) for a, (froms, _t) in services.TRANSITIONS.items() for s in froms}
    assert ("submitted", "approve") in legal
    assert ("paid", "cancel") not in legal
    assert ("shipped", "cancel") not in legal
    assert services.next_status("reject", "submitted") == "draft"
    with pytest.raises(IllegalTransition):
        services.next_status("pay", "accepted")


def test_a_stale_copy_cannot_move_an_order_twice(ag, ven, goods):
    """The status read earlier in a request never decides: the guarded UPDATE does."""
    from sqlalchemy.orm.attributes import set_committed_value

    order = h.walk(ag, ven, {goods: 20}, "submitted")
    stale = db.session.get(ProcurementOrder, order.id)
    services.approve(ag.approver, ag.org, order.id)
    set_committed_value(stale, "status", "submitted")  # as another request loaded it
    with pytest.raises(IllegalTransition):
        services._move(stale, "approve", ag.admin)
    db.session.rollback()
    assert db.session.get(ProcurementOrder, order.id).approved_by_id == ag.approver.id
    assert [e[0] for e in events(order)].count("approve") == 1


def test_every_step_records_who_when_and_the_comment(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "submitted")
    services.reject(ag.approver, ag.org, order.id, "数量太多")
    event = db.session.scalars(
        select(ProcurementEvent).where(ProcurementEvent.action == "reject")
    ).one()
    assert (event.actor_id, event.comment, event.to_status) == (ag.approver.id, "数量太多", "draft")
    assert event.at is not None
    services.submit(ag.buyer, ag.org, order.id)
    assert [e[0] for e in events(order)] == ["create", "submit", "reject", "submit"]


# ---------------------------------------------------------------- who may do what


def test_the_submitter_cannot_approve_even_as_admin(ag, ven, goods):
    for product, quantity in {goods: 20}.items():
        h.basket.set_quantity(ag.admin, ag.org, product.id, quantity)
    (order,) = h.basket.submit_basket(ag.admin, ag.org, h.DELIVERY)
    with pytest.raises(Forbidden):
        services.approve(ag.admin, ag.org, order.id)
    with pytest.raises(Forbidden):
        services.reject(ag.admin, ag.org, order.id, "自己退回")
    db.session.rollback()
    assert db.session.get(ProcurementOrder, order.id).status == S.SUBMITTED
    services.approve(ag.approver, ag.org, order.id)
    assert order.status == S.APPROVED


def test_a_buyer_cannot_approve(ag, ven, goods):
    other_buyer = member_of(OrgKind.AGENCY, Role.BUYER)
    h.MembershipFactory(user=other_buyer, org=ag.org, role=Role.BUYER)
    order = h.walk(ag, ven, {goods: 20}, "submitted")
    with pytest.raises(Forbidden):
        services.approve(other_buyer, ag.org, order.id)


def test_another_agency_sees_nothing(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "submitted")
    other = h.agency("海口市卫生健康委员会")
    with pytest.raises(NotFound):
        services.get_order(other.approver, other.org, order.id)
    with pytest.raises(NotFound):
        services.approve(other.approver, other.org, order.id)
    # and a member of the other agency naming the first agency is not a member of it
    with pytest.raises(NotFound):
        services.approve(other.approver, ag.org, order.id)


def test_a_vendor_sees_only_its_own_orders_once_approved(ag, ven, goods):
    other = h.vendor()
    mine = h.walk(ag, ven, {goods: 20}, "approved")
    pending = h.walk(ag, ven, {goods: 20}, "submitted")
    theirs = h.walk(ag, other, {h.product(other): 20}, "approved")
    seen = list(db.session.scalars(services.orders_of(ven.org)))
    assert [o.id for o in seen] == [mine.id]
    for hidden in (pending, theirs):
        with pytest.raises(NotFound):
            services.confirm(ven.staff, ven.org, hidden.id)


# ---------------------------------------------------------------- stock


def test_confirming_reserves_and_cancelling_releases(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 30}, "confirmed")
    assert (warehouse_level(goods.id).on_hand, warehouse_level(goods.id).reserved) == (100, 30)
    assert stock.available(goods.id) == 70
    services.cancel(ag.buyer, ag.org, order.id, "会议取消")
    assert (warehouse_level(goods.id).on_hand, warehouse_level(goods.id).reserved) == (100, 0)


def test_confirming_more_than_in_stock_fails_and_changes_nothing(ag, ven):
    scarce = h.product(ven, stock=5, tiers=[])
    order = h.walk(ag, ven, {scarce: 6}, "approved")
    with pytest.raises(stock.OutOfStock):
        services.confirm(ven.staff, ven.org, order.id)
    db.session.rollback()
    assert db.session.get(ProcurementOrder, order.id).status == S.APPROVED
    assert warehouse_level(scarce.id).reserved == 0


def test_acceptance_with_a_shortfall_bills_what_was_received_and_returns_the_rest(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 25}, "accepted", short=3)
    line = order.lines[0]
    assert (line.quantity, line.shipped_quantity, line.received_quantity) == (25, 25, 22)
    assert order.total == 25 * 6200
    assert order.accepted_total == 22 * 6200
    level = warehouse_level(goods.id)
    assert (level.on_hand, level.reserved) == (78, 0)
    assert stock.available(goods.id) == 78


def test_acceptance_cannot_exceed_what_was_shipped(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 25}, "confirmed")
    services.ship(ven.staff, ven.org, order.id, {order.lines[0].id: 20})
    with pytest.raises(ValidationError):
        services.accept(ag.buyer, ag.org, order.id, {order.lines[0].id: 21})
    db.session.rollback()
    services.accept(ag.buyer, ag.org, order.id, {order.lines[0].id: 20})
    assert warehouse_level(goods.id).on_hand == 80
    assert warehouse_level(goods.id).reserved == 0


# ---------------------------------------------------------------- the ledger


def test_the_sale_enters_the_ledger_only_when_paid_on_the_payment_date(
    ag, ven, goods, frozen_clock
):
    from datetime import UTC, datetime

    order = h.walk(ag, ven, {goods: 25}, "invoiced", short=5)
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(func.count(Attribution.id))) == 0
    paid_on = local_today() + timedelta(days=2)
    frozen_clock(datetime.combine(paid_on + timedelta(days=5), datetime.min.time(), UTC))
    services.pay(ven.staff, ven.org, order.id, services.TransferPayment("BANK-778", paid_on))
    sale = db.session.get(Order, order.ledger_order_id)
    assert sale.channel == Channel.PROCUREMENT
    assert sale.status == "paid"
    assert sale.sale_date == paid_on
    assert sale.buyer_org_id == ag.org.id
    assert sale.total == 20 * 6200
    assert [(ln.quantity, ln.unit_price) for ln in sale.lines] == [(20, 6200)]
    shares = db.session.scalars(select(Attribution).where(Attribution.order_id == sale.id)).all()
    assert sum(a.amount for a in shares) == 20 * 6200
    assert {a.sale_date for a in shares} == {paid_on}
    assert {a.channel for a in shares} == {"procurement"}
    assert len({a.household_id for a in shares}) == 2


def test_payment_cannot_be_dated_in_the_future(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "invoiced")
    with pytest.raises(ValidationError):
        services.pay(
            ag.buyer,
            ag.org,
            order.id,
            services.TransferPayment("X", local_today() + timedelta(days=1)),
        )
    db.session.rollback()
    assert db.session.get(ProcurementOrder, order.id).status == S.INVOICED


def test_the_invoice_must_match_the_accepted_amount(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "accepted", short=2)
    with pytest.raises(ValidationError):
        services.invoice(
            ven.staff,
            ven.org,
            order.id,
            services.Invoice("No9", local_today(), order.total, "单位", "1" * 18),
        )


def test_report_summary_shows_the_paid_order_under_procurement(ag, ven, goods, runner):
    import json

    h.walk(ag, ven, {goods: 20}, "paid")
    result = runner.invoke(args=["report", "summary", "--format", "json"])
    data = json.loads(result.output)
    assert data["channels"]["procurement"]["amount"] == "1240.00"
    assert data["channels"]["procurement"]["orders"] == 1


def test_a_price_change_after_ordering_never_changes_the_order(ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "approved")
    goods.price = 9900
    goods.tiers[0].unit_price = 9000
    db.session.commit()
    services.confirm(ven.staff, ven.org, order.id)
    services.ship(ven.staff, ven.org, order.id, {order.lines[0].id: 20})
    services.accept(ag.buyer, ag.org, order.id, {order.lines[0].id: 20})
    assert order.accepted_total == 20 * 6200
