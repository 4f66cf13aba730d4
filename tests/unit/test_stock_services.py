"""Stock use cases (issue 5): receipts, adjustments with reasons, the ledger that always
explains on-hand, vendor scoping, public availability and the products import's stock."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.errors import Forbidden, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from vendors import services
from vendors.models import StockLevel, StockMovement
from vendors.services import OutOfStock, Ref, StockItem

from ..catalog_factories import ProductFactory
from ..factories import OrgFactory, UserFactory, member_of
from ..vendor_factories import FairStallFactory

# fixtures vendor, org, product and other_product: tests/unit/conftest.py


def movements() -> int:
    return db.session.scalar(select(func.count(StockMovement.id)))


def assert_ledger_matches() -> None:
    """Per product and location, the movements sum to on-hand and reserved, and every
    movement's balance is the running sum."""
    for level in db.session.scalars(select(StockLevel)):
        rows = db.session.scalars(
            select(StockMovement)
            .where(
                StockMovement.product_id == level.product_id,
                StockMovement.location_id == level.location_id,
            )
            .order_by(StockMovement.id)
        ).all()
        on_hand = reserved = 0
        for m in rows:
            on_hand += m.on_hand_delta
            reserved += m.reserved_delta
            assert (m.on_hand_after, m.reserved_after) == (on_hand, reserved)
            assert 0 <= reserved <= on_hand
        assert (on_hand, reserved) == (level.on_hand, level.reserved)


# ---------------------------------------------------------------- receipts


def test_receipt_adds_on_hand_with_note_and_actor(vendor, org, product):
    movement = services.receive_stock(vendor, org, product.id, 40, "建群村 5 户农户第 3 批")
    assert (movement.kind, movement.on_hand_delta, movement.on_hand_after) == ("receipt", 40, 40)
    assert movement.note == "建群村 5 户农户第 3 批"
    assert movement.actor_id == vendor.id and movement.actor_label == vendor.email
    assert services.available(product.id) == 40


@pytest.mark.parametrize("quantity", [-5, 0])
def test_negative_or_zero_receipt_is_refused(vendor, org, product, quantity):
    with pytest.raises(ValidationError):
        services.receive_stock(vendor, org, product.id, quantity, "")
    assert movements() == 0
    assert services.available(product.id) == 0


# ---------------------------------------------------------------- adjustments


@pytest.mark.parametrize("reason", ["", None, "lost_somewhere"])
def test_adjustment_without_a_reason_is_refused(vendor, org, product, reason):
    services.receive_stock(vendor, org, product.id, 10, "")
    with pytest.raises(ValidationError) as exc:
        services.adjust_stock(vendor, org, product.id, reason=reason, delta=-2)
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationError):
        services.adjust(product.id, services.warehouse(org.id).id, -2, reason, Ref())
    assert movements() == 1
    assert services.available(product.id) == 10


def test_adjustment_below_zero_is_refused(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 10, "")
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-11)
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="count_correction", new_count=-1)
    assert movements() == 1
    assert services.available(product.id) == 10


def test_adjustment_cannot_take_away_reserved_units(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 10, "")
    location = services.warehouse(org.id)
    services.reserve([StockItem(product.id, location.id, 7)], Ref(type="order", id=1))
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="spoiled", delta=-4)
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="count_correction", new_count=6)
    movement = services.adjust_stock(vendor, org, product.id, reason="spoiled", delta=-3)
    assert (movement.on_hand_after, movement.reserved_after) == (7, 7)


def test_adjustment_by_count_records_the_difference_with_its_reason(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 10, "")
    movement = services.adjust_stock(
        vendor, org, product.id, reason="count_correction", new_count=8, note="月末盘点"
    )
    assert (movement.on_hand_delta, movement.on_hand_after) == (-2, 8)
    assert (movement.reason, movement.note) == ("count_correction", "月末盘点")
    assert (
        services.adjust_stock(vendor, org, product.id, reason="count_correction", new_count=8)
        is None
    )
    returned = services.adjust_stock(
        vendor, org, product.id, reason="returned_to_producer", delta=-3
    )
    assert returned.on_hand_after == 5


# ---------------------------------------------------------------- the ledger


def test_ledger_sums_equal_on_hand_after_a_series_of_operations(vendor, org, product):
    second = ProductFactory(vendor=org, sku="LZ-002")
    home = services.warehouse(org.id)
    fair = FairStallFactory(vendor=org, name="冬交会")
    services.receive_stock(vendor, org, product.id, 50, "第一批")
    services.receive_stock(vendor, org, second.id, 20, "")
    items = [StockItem(product.id, home.id, 5), StockItem(second.id, home.id, 2)]
    services.reserve(items, Ref(type="order", id=1))
    services.commit_sale(items, Ref(type="order", id=1))
    services.reserve([StockItem(product.id, home.id, 4)], Ref(type="order", id=2))
    services.release([StockItem(product.id, home.id, 4)], Ref(type="order", id=2))
    services.reserve([StockItem(product.id, home.id, 3)], Ref(type="order", id=3))
    services.restock([StockItem(product.id, home.id, 1)], Ref(type="refund", id=1))
    services.transfer(product.id, home.id, fair.id, 10, Ref(type="fair", id=1))
    services.sell([StockItem(product.id, fair.id, 4)], Ref(type="fair", id=1))
    services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-2)
    services.adjust_stock(vendor, org, second.id, reason="count_correction", new_count=15)
    with pytest.raises(OutOfStock) as exc:
        services.reserve([StockItem(product.id, home.id, 1000)], Ref(type="order", id=4))
    assert exc.value.available == 50 - 5 + 1 - 10 - 2 - 3
    db.session.expire_all()
    assert_ledger_matches()
    assert services.level(product.id, home.id).on_hand == 50 - 5 + 1 - 10 - 2
    assert services.level(product.id, home.id).reserved == 3
    assert services.level(product.id, fair.id).on_hand == 6
    assert services.level(second.id, home.id).on_hand == 15


# ---------------------------------------------------------------- scoping


def test_another_vendors_product_is_not_found_and_unchanged(vendor, org, product, other_product):
    other_home = services.warehouse(other_product.vendor_id)
    calls = [
        lambda: services.receive_stock(vendor, org, other_product.id, 5, ""),
        lambda: services.adjust_stock(vendor, org, other_product.id, reason="damaged", delta=-1),
        lambda: services.update_stock_setting(vendor, org, other_product.id, 3, True),
        lambda: services.vendor_stock_product(vendor, org, other_product.id),
        lambda: services.vendor_movements(
            vendor, org, services.MovementFilters(product_id=other_product.id)
        ),
        # the own product at another vendor's location
        lambda: services.receive_stock(vendor, org, product.id, 5, "", location_id=other_home.id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert movements() == 1  # the other vendor's receipt
    assert services.available(other_product.id) == 7
    assert services.stock_setting(other_product.id).low_threshold == 10


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(),
        lambda: member_of(OrgKind.AGENCY, Role.BUYER),
        lambda: member_of(OrgKind.COOPERATIVE, Role.STAFF),  # a member of another vendor
    ],
    ids=["citizen", "agency", "other_vendor"],
)
def test_only_members_may_manage_the_stock(org, product, make_user):
    with pytest.raises(Forbidden):
        services.receive_stock(make_user(), org, product.id, 5, "")
    assert movements() == 0


def test_unverified_vendor_cannot_manage_stock(product):
    pending = OrgFactory(status="pending")
    user = member_of(OrgKind.COOPERATIVE)
    user.memberships[0].org = pending
    db.session.commit()
    with pytest.raises(Forbidden):
        services.receive_stock(user, pending, product.id, 5, "")


# ---------------------------------------------------------------- public availability


def test_availability_in_stock_low_and_sold_out(vendor, org, product):
    assert services.availability(product).status == "sold_out"
    services.receive_stock(vendor, org, product.id, 11, "")
    assert services.availability(product) == services.Availability("in_stock", None)
    services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-1)
    assert services.availability(product.id).status == "low"  # 10 <= default threshold 10
    services.update_stock_setting(vendor, org, product.id, 3, True)
    assert services.availability(product) == services.Availability("in_stock", 10)
    services.reserve(
        [StockItem(product.id, services.warehouse(org.id).id, 10)], Ref(type="order", id=1)
    )
    assert services.availability(product) == services.Availability("sold_out", 0)


def test_ensure_available_raises_out_of_stock_with_what_is_left(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 3, "")
    services.ensure_available(product.id, 3)
    with pytest.raises(OutOfStock) as exc:
        services.ensure_available(product.id, 4)
    assert (exc.value.available, exc.value.requested) == (3, 4)
    services.adjust_stock(vendor, org, product.id, reason="spoiled", delta=-3)
    with pytest.raises(OutOfStock):
        services.ensure_available(product.id, 1)


def test_threshold_must_not_be_negative(vendor, org, product):
    with pytest.raises(ValidationError):
        services.update_stock_setting(vendor, org, product.id, -1, False)


# ---------------------------------------------------------------- the products import


HEADER = "sku,vendor_code,name,category,unit,price,certificate_no,certified_on,valid_until,stock\n"


def run_products(runner, tmp_path, content):
    path = tmp_path / "products.csv"
    path.write_text(HEADER + content, encoding="utf-8")
    return runner.invoke(args=["import", "products", str(path)])


def test_products_import_stock_sets_on_hand_through_adjustments(runner, tmp_path):
    from catalog.models import Product
    from catalog.services import seed_categories

    seed_categories()
    vendor_org = OrgFactory(code="V001")
    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,40\n")
    assert result.exit_code == 0, result.output
    product = db.session.scalar(select(Product).where(Product.sku == "LZ-1"))
    assert services.available(product.id) == 40

    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,25\n")
    assert result.exit_code == 0, result.output
    assert services.available(product.id) == 25
    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,70,,,,\n")  # blank
    assert result.exit_code == 0, result.output
    assert services.available(product.id) == 25

    rows = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.kind, m.reason, m.on_hand_delta, m.on_hand_after) for m in rows] == [
        ("adjustment", "count_correction", 40, 40),
        ("adjustment", "count_correction", -15, 25),
    ]
    assert all(
        (m.ref_type, m.ref_id, m.vendor_id) == ("import", "products", vendor_org.id) for m in rows
    )
    assert_ledger_matches()


def test_products_import_stock_below_reserved_is_a_row_error(runner, tmp_path):
    from catalog.models import Product
    from catalog.services import seed_categories

    seed_categories()
    OrgFactory(code="V001")
    assert run_products(runner, tmp_path, "LZ-1,V001,荔枝,荔枝,箱,68,,,,10\n").exit_code == 0
    product = db.session.scalar(select(Product).where(Product.sku == "LZ-1"))
    home = services.warehouse(product.vendor_id)
    services.reserve([StockItem(product.id, home.id, 6)], Ref(type="order", id=1))
    result = run_products(runner, tmp_path, "LZ-1,V001,荔枝,荔枝,箱,99,,,,5\n")
    assert result.exit_code != 0
    assert "row 2: stock:" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Product.price).where(Product.id == product.id)) == 6800
    assert services.level(product.id, home.id).on_hand == 10
