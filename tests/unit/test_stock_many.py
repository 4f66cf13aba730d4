"""``vendors.stock_counts.set_on_hand_many``: the products import's set-based stock count, with
the semantics of ``set_on_hand_at`` (conditional update, one adjustment movement per
level that changes, never below what is reserved)."""

import pytest
from sqlalchemy import select

from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.unit_of_work import unit_of_work
from tests.catalog_factories import ProductFactory
from tests.factories import OrgFactory
from tests.stock_helpers import warehouse_level
from tests.vendor_factories import StockedProductFactory
from vendors import stock
from vendors.models import AdjustmentReason, MovementKind, StockMovement
from vendors.stock import Goods, Ref
from vendors.stock_counts import set_on_hand_many


def movements(product_id: int) -> list[StockMovement]:
    return list(
        db.session.scalars(
            select(StockMovement)
            .where(StockMovement.product_id == product_id)
            .order_by(StockMovement.id)
        )
    )


def test_sets_each_warehouse_with_one_adjustment_per_change(app):
    vendor, other = OrgFactory(), OrgFactory()
    stocked = StockedProductFactory(vendor=vendor, stock=10)
    fresh = ProductFactory(vendor=other)  # never stocked: level and warehouse created
    same = StockedProductFactory(vendor=vendor, stock=7)
    with unit_of_work():
        made = set_on_hand_many(
            {stocked.id: 25, fresh.id: 4, same.id: 7},
            Ref(type="import", id="products", actor="cli"),
        )
    assert made == 2
    assert (warehouse_level(stocked.id).on_hand, warehouse_level(fresh.id).on_hand) == (25, 4)
    assert warehouse_level(same.id).on_hand == 7
    last = movements(stocked.id)[-1]
    assert (last.kind, last.reason) == (MovementKind.ADJUSTMENT, AdjustmentReason.COUNT_CORRECTION)
    assert (last.on_hand_delta, last.on_hand_after, last.reserved_after) == (15, 25, 0)
    assert (last.ref_type, last.ref_id, last.actor_label) == ("import", "products", "cli")
    assert last.vendor_id == vendor.id and last.created_at is not None
    assert [m.on_hand_delta for m in movements(fresh.id)] == [4]
    assert len(movements(same.id)) == 1  # only its receipt: nothing to correct
    # the movements still sum to the on-hand
    assert sum(m.on_hand_delta for m in movements(stocked.id)) == 25


def test_never_below_what_is_reserved_and_nothing_changes(app):
    product = StockedProductFactory(stock=10)
    other = StockedProductFactory(stock=10)
    stock.reserve([Goods(product.id, 6)], Ref(type="order", id=1))
    before = len(movements(other.id))
    with pytest.raises(ValidationError), unit_of_work():
        set_on_hand_many({other.id: 3, product.id: 5}, Ref(type="import", id="products"))
    db.session.expire_all()
    assert warehouse_level(product.id).on_hand == 10
    assert warehouse_level(other.id).on_hand == 10
    assert len(movements(other.id)) == before
    with unit_of_work():
        assert set_on_hand_many({product.id: 6}, Ref(type="import", id="products")) == 1
    assert (warehouse_level(product.id).on_hand, warehouse_level(product.id).reserved) == (6, 6)


def test_refuses_a_negative_target(app):
    product = StockedProductFactory(stock=1)
    with pytest.raises(ValidationError):
        set_on_hand_many({product.id: -1}, Ref())
