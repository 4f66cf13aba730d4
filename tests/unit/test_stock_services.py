"""Stock use cases (issue 5): receipts, adjustments with reasons, the ledger that always
explains on-hand, vendor scoping, public availability and the products import's stock."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.errors import Forbidden, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from vendors import services, stock, stock_counts
from vendors.locations import warehouse
from vendors.models import StockLevel, StockLocation, StockMovement
from vendors.stock import WAREHOUSE, Goods, OutOfStock, Place, Ref, fair_stall, store_counter

from ..catalog_factories import ProductFactory
from ..factories import OrgFactory, UserFactory, member_of
from ..stock_helpers import warehouse_level


@pytest.fixture
def vendor():
    return member_of(OrgKind.COOPERATIVE, Role.STAFF)


@pytest.fixture
def org(vendor):
    return vendor.memberships[0].org


@pytest.fixture
def product(org):
    return ProductFactory(vendor=org, name="妃子笑荔枝", sku="LZ-001", unit="箱")


@pytest.fixture
def other_product():
    return ProductFactory(name="别家的蜂蜜", sku="FM-999")


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
    assert stock.available(product.id) == 40


@pytest.mark.parametrize("quantity", [-5, 0])
def test_negative_or_zero_receipt_is_refused(vendor, org, product, quantity):
    with pytest.raises(ValidationError):
        services.receive_stock(vendor, org, product.id, quantity, "")
    assert movements() == 0
    assert stock.available(product.id) == 0


# ---------------------------------------------------------------- adjustments


@pytest.mark.parametrize("reason", ["", None, "lost_somewhere"])
def test_adjustment_without_a_reason_is_refused(vendor, org, product, reason):
    services.receive_stock(vendor, org, product.id, 10, "")
    with pytest.raises(ValidationError) as exc:
        services.adjust_stock(vendor, org, product.id, reason=reason, delta=-2)
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationError):
        stock_counts.adjust_at(product.id, warehouse(org.id).id, -2, reason, Ref())
    assert movements() == 1
    assert stock.available(product.id) == 10


def test_adjustment_below_zero_is_refused(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 10, "")
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-11)
    with pytest.raises(ValidationError):
        services.adjust_stock(vendor, org, product.id, reason="count_correction", new_count=-1)
    assert movements() == 1
    assert stock.available(product.id) == 10


def test_adjustment_cannot_take_away_reserved_units(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 10, "")
    stock.reserve([Goods(product.id, 7)], Ref(type="order", id=1))
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
    stall = fair_stall(1, "冬交会")
    services.receive_stock(vendor, org, product.id, 50, "第一批")
    services.receive_stock(vendor, org, second.id, 20, "")
    goods = [Goods(product.id, 5), Goods(second.id, 2)]
    stock.reserve(goods, Ref(type="order", id=1))
    stock.commit_sale(goods, Ref(type="order", id=1))
    stock.reserve([Goods(product.id, 4)], Ref(type="order", id=2))
    stock.release([Goods(product.id, 4)], Ref(type="order", id=2))
    stock.reserve([Goods(product.id, 3)], Ref(type="order", id=3))
    stock.restock([Goods(product.id, 1)], Ref(type="refund", id=1))
    stock.transfer(product.id, 10, WAREHOUSE, stall, Ref(type="fair", id=1))
    stock.sell([Goods(product.id, 4, stall)], Ref(type="fair", id=1))
    services.adjust_stock(vendor, org, product.id, reason="damaged", delta=-2)
    services.adjust_stock(vendor, org, second.id, reason="count_correction", new_count=15)
    with pytest.raises(OutOfStock) as exc:
        stock.reserve([Goods(product.id, 1000)], Ref(type="order", id=4))
    assert exc.value.available == 50 - 5 + 1 - 10 - 2 - 3
    db.session.expire_all()
    assert_ledger_matches()
    assert warehouse_level(product.id).on_hand == 50 - 5 + 1 - 10 - 2
    assert warehouse_level(product.id).reserved == 3
    assert stock.available(product.id, stall) == 6
    assert warehouse_level(second.id).on_hand == 15


# ------------------------------------------------ places (the API for other packages)


def locations_of(vendor_id: int) -> list[tuple[str, int | None, str]]:
    return [
        (loc.kind, loc.place_ref, loc.name)
        for loc in db.session.scalars(
            select(StockLocation)
            .where(StockLocation.vendor_id == vendor_id)
            .order_by(StockLocation.id)
        )
    ]


def test_a_place_becomes_one_location_of_the_products_vendor(org, product):
    """The engine finds or creates the location of a place itself, named when first used;
    the same place later (under any name) is the same location."""
    stock.receive([Goods(product.id, 5, fair_stall(7, "秀英集市（F07）"))], Ref())
    stock.receive([Goods(product.id, 3, fair_stall(7, "别的名字"))], Ref())
    stock.receive([Goods(product.id, 2, store_counter(99, "望海国际专柜"))], Ref())
    stock.receive([Goods(product.id, 1)], Ref())
    assert locations_of(org.id) == [
        ("fair", 7, "秀英集市（F07）"),
        ("counter", 99, "望海国际专柜"),
        ("warehouse", None, "仓库"),
    ]
    assert stock.available(product.id, fair_stall(7, "")) == 8
    assert stock.available(product.id, Place("counter", 99)) == 2
    assert stock.available(product.id) == stock.available(product.id, WAREHOUSE) == 1
    assert stock.available(product.id, fair_stall(8, "")) == 0  # never used: 0, not created
    assert len(locations_of(org.id)) == 3
    assert_ledger_matches()


def test_goods_of_several_vendors_go_to_each_vendors_own_place(product, other_product):
    stock.receive([Goods(product.id, 4), Goods(other_product.id, 6)], Ref(type="test"))
    stock.reserve([Goods(other_product.id, 2), Goods(product.id, 1)], Ref(type="order", id=1))
    assert (stock.available(product.id), stock.available(other_product.id)) == (3, 4)
    assert locations_of(product.vendor_id) == [("warehouse", None, "仓库")]
    assert locations_of(other_product.vendor_id) == [("warehouse", None, "仓库")]
    moves = db.session.scalars(select(StockMovement).where(StockMovement.kind == "reservation"))
    assert {(m.product_id, m.vendor_id) for m in moves} == {
        (product.id, product.vendor_id),
        (other_product.id, other_product.vendor_id),
    }


def test_a_place_is_known_by_kind_and_ref_not_by_name():
    assert fair_stall(3, "甲") == fair_stall(3, "乙") == Place("fair", 3)
    assert fair_stall(3, "甲") != store_counter(3, "甲")
    assert Place() == WAREHOUSE and Place("warehouse") == WAREHOUSE
    for bad in (lambda: Place("warehouse", 5), lambda: Place("fair"), lambda: Place("shelf", 1)):
        with pytest.raises(ValueError):
            bad()


def test_available_many_reads_every_pair_and_creates_nothing(org, product, other_product):
    stall = fair_stall(7, "秀英集市")
    stock.receive([Goods(product.id, 5), Goods(product.id, 2, stall)], Ref())
    stock.reserve([Goods(product.id, 1)], Ref(type="order", id=1))
    before = locations_of(org.id), locations_of(other_product.vendor_id)
    found = stock.available_many(
        [
            (product.id, WAREHOUSE),
            (product.id, fair_stall(7, "")),
            (product.id, fair_stall(8, "")),
            (other_product.id, WAREHOUSE),
        ]
    )
    assert found == {
        (product.id, WAREHOUSE): 4,
        (product.id, stall): 2,
        (product.id, fair_stall(8, "")): 0,
        (other_product.id, WAREHOUSE): 0,
    }
    assert (locations_of(org.id), locations_of(other_product.vendor_id)) == before
    assert stock.available_many([]) == {}


def test_transfer_moves_available_units_between_places_or_nothing(product):
    stall = fair_stall(7, "秀英集市")
    stock.receive([Goods(product.id, 10)], Ref())
    stock.reserve([Goods(product.id, 4)], Ref(type="order", id=1))
    out, into = stock.transfer(product.id, 6, WAREHOUSE, stall, Ref(type="fair", id=7))
    assert (out.kind, out.on_hand_after, into.kind, into.on_hand_after) == (
        "transfer_out",
        4,
        "transfer_in",
        6,
    )
    with pytest.raises(OutOfStock):  # the 4 left are reserved
        stock.transfer(product.id, 1, WAREHOUSE, stall, Ref())
    with pytest.raises(ValidationError):
        stock.transfer(product.id, 1, stall, fair_stall(7, "同一个"), Ref())
    with pytest.raises(ValidationError):
        stock.transfer(product.id, 0, stall, WAREHOUSE, Ref())
    db.session.rollback()
    assert (stock.available(product.id), stock.available(product.id, stall)) == (0, 6)
    stock.transfer(product.id, 6, stall, WAREHOUSE, Ref(type="fair", id=7))  # unsold back
    assert (stock.available(product.id), stock.available(product.id, stall)) == (6, 0)
    assert_ledger_matches()


def test_unknown_products_and_empty_quantities_are_refused(product):
    with pytest.raises(NotFound):
        stock.receive([Goods(product.id, 1), Goods(product.id + 999, 1)], Ref())
    with pytest.raises(ValidationError):
        stock.sell([Goods(product.id, 0)], Ref())
    assert stock.reserve([], Ref()) == []
    assert movements() == 0


def test_ensure_available_at_a_fair_stall(product):
    stall = fair_stall(7, "秀英集市")
    stock.receive([Goods(product.id, 3, stall)], Ref())
    stock.ensure_available(product.id, 3, stall)
    with pytest.raises(OutOfStock) as exc:
        stock.ensure_available(product.id, 1)  # nothing at the warehouse
    assert (exc.value.available, exc.value.requested) == (0, 1)


# ---------------------------------------------------------------- scoping


def test_another_vendors_product_is_not_found_and_unchanged(vendor, org, product, other_product):
    other_home = warehouse(other_product.vendor_id)
    stock.receive([Goods(other_product.id, 5)], Ref())
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
    assert movements() == 1
    assert stock.available(other_product.id) == 5
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
    stock.reserve([Goods(product.id, 10)], Ref(type="order", id=1))
    assert services.availability(product) == services.Availability("sold_out", 0)


def test_ensure_available_raises_out_of_stock_with_what_is_left(vendor, org, product):
    services.receive_stock(vendor, org, product.id, 3, "")
    stock.ensure_available(product.id, 3)
    with pytest.raises(OutOfStock) as exc:
        stock.ensure_available(product.id, 4)
    assert (exc.value.available, exc.value.requested) == (3, 4)
    services.adjust_stock(vendor, org, product.id, reason="spoiled", delta=-3)
    with pytest.raises(OutOfStock):
        stock.ensure_available(product.id, 1)


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
    from catalog.products import seed_categories

    seed_categories()
    vendor_org = OrgFactory(code="V001")
    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,40\n")
    assert result.exit_code == 0, result.output
    product = db.session.scalar(select(Product).where(Product.sku == "LZ-1"))
    assert stock.available(product.id) == 40

    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,68,,,,25\n")
    assert result.exit_code == 0, result.output
    assert stock.available(product.id) == 25
    result = run_products(runner, tmp_path, "LZ-1,V001,妃子笑荔枝,荔枝,箱,70,,,,\n")  # blank
    assert result.exit_code == 0, result.output
    assert stock.available(product.id) == 25

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
    from catalog.products import seed_categories

    seed_categories()
    OrgFactory(code="V001")
    assert run_products(runner, tmp_path, "LZ-1,V001,荔枝,荔枝,箱,68,,,,10\n").exit_code == 0
    product = db.session.scalar(select(Product).where(Product.sku == "LZ-1"))
    stock.reserve([Goods(product.id, 6)], Ref(type="order", id=1))
    result = run_products(runner, tmp_path, "LZ-1,V001,荔枝,荔枝,箱,99,,,,5\n")
    assert result.exit_code != 0
    assert "row 2: stock:" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Product.price).where(Product.id == product.id)) == 6800
    assert warehouse_level(product.id).on_hand == 10


# ---------------------------------------------------------------- the ledger check


def test_audit_totals_levels_and_finds_a_level_its_movements_do_not_explain(product):
    stock.receive([Goods(product.id, 8), Goods(product.id, 2, fair_stall(7, "集市"))], Ref())
    stock.reserve([Goods(product.id, 3)], Ref(type="order", id=1))
    assert services.audit() == services.StockAudit(on_hand=10, reserved=3, lowest=0, unexplained=0)
    at_home = warehouse_level(product.id)
    at_home.on_hand = 9  # changed behind the ledger's back
    db.session.commit()
    assert services.audit().unexplained == 1
