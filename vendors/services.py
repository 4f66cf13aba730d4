"""Stock use cases. Every change is one conditional UPDATE of a stock level (so two
buyers can never both take the last unit, on PostgreSQL as on SQLite) plus a movement
row recording who, why and the balance it left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.models import Product, ProductStatus
from marketplace.authz import can
from marketplace.errors import DomainError, Forbidden, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work

from .models import (
    AdjustmentReason,
    LocationKind,
    MovementKind,
    StockLevel,
    StockLocation,
    StockMovement,
    StockSetting,
)

WAREHOUSE_NAME = "仓库"


class OutOfStock(DomainError):
    """Fewer units available than asked for; ``available`` says how many there are."""

    def __init__(self, product_name: str, available: int, requested: int):
        super().__init__(
            _(
                "%(name)s 库存不足：需要 %(req)d，仅剩 %(n)d",
                name=product_name,
                req=requested,
                n=max(available, 0),
            )
        )
        self.available = max(available, 0)
        self.requested = requested


class NotReserved(DomainError):
    """Units asked to leave a reservation that the reference (an order) does not hold:
    they belong to someone else's reservation, or were already sold or released."""


@dataclass(frozen=True)
class StockItem:
    product_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class Ref:
    """What a movement belongs to (an order, a fair, an import) and who caused it."""

    type: str | None = None
    id: str | int | None = None
    actor: User | str | None = None
    note: str | None = None


def _require(actor: User, org: Organization) -> None:
    if not can(actor, "stock.manage", org):
        raise Forbidden(_("您没有权限执行此操作。"))


def warehouse_if_any(vendor_id: int) -> StockLocation | None:
    """The vendor's warehouse if it exists yet (no insert, for read-only pages)."""
    return db.session.scalar(
        select(StockLocation)
        .where(StockLocation.vendor_id == vendor_id, StockLocation.kind == LocationKind.WAREHOUSE)
        .order_by(StockLocation.id)
    )


def warehouse(vendor_id: int) -> StockLocation:
    """The vendor's warehouse location, created on first use."""
    location = db.session.scalar(
        select(StockLocation)
        .where(StockLocation.vendor_id == vendor_id, StockLocation.kind == LocationKind.WAREHOUSE)
        .order_by(StockLocation.id)
    )
    if location is None:
        _insert_ignore(
            StockLocation,
            {
                "vendor_id": vendor_id,
                "kind": LocationKind.WAREHOUSE,
                "name": WAREHOUSE_NAME,
                "active": True,
            },
            ["vendor_id", "kind", "name"],
        )
        location = db.session.scalar(
            select(StockLocation)
            .where(
                StockLocation.vendor_id == vendor_id, StockLocation.kind == LocationKind.WAREHOUSE
            )
            .order_by(StockLocation.id)
        )
    return location


def _insert_ignore(model, values: dict, keys: list[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: safe when two requests create the same row."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))


def ensure_level(product_id: int, location_id: int) -> None:
    _insert_ignore(
        StockLevel,
        {"product_id": product_id, "location_id": location_id, "on_hand": 0, "reserved": 0},
        ["product_id", "location_id"],
    )


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    return product


def _apply(
    item: StockItem,
    kind: str,
    on_hand_delta: int,
    reserved_delta: int,
    condition,
    ref: Ref,
    reason: str | None = None,
) -> StockMovement:
    """One conditional UPDATE; ``OutOfStock`` when the condition does not hold."""
    ensure_level(item.product_id, item.location_id)
    row = db.session.execute(
        update(StockLevel)
        .where(
            StockLevel.product_id == item.product_id,
            StockLevel.location_id == item.location_id,
            *condition,
        )
        .values(
            on_hand=StockLevel.on_hand + on_hand_delta,
            reserved=StockLevel.reserved + reserved_delta,
        )
        .returning(StockLevel.on_hand, StockLevel.reserved)
    ).first()
    product = _product(item.product_id)
    if row is None:
        current = db.session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.product_id == item.product_id, StockLevel.location_id == item.location_id
            )
        ).first()
        available = current.on_hand - current.reserved if current else 0
        raise OutOfStock(product.name, available, abs(on_hand_delta or reserved_delta))
    actor = ref.actor
    movement = StockMovement(
        vendor_id=product.vendor_id,
        product_id=item.product_id,
        location_id=item.location_id,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        on_hand_after=row.on_hand,
        reserved_after=row.reserved,
        reason=reason,
        note=ref.note,
        ref_type=ref.type,
        ref_id=None if ref.id is None else str(ref.id),
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=actor.email if isinstance(actor, User) else (actor or "system"),
    )
    db.session.add(movement)
    db.session.flush()
    return movement


def _ordered(items: Sequence[StockItem]) -> list[StockItem]:
    """Items merged per (product, location) and sorted, so concurrent multi-line
    operations take their row locks in the same order and cannot deadlock."""
    merged: dict[tuple[int, int], int] = {}
    for item in items:
        if item.quantity <= 0:
            raise ValidationError(_("数量必须大于零"))
        key = (item.product_id, item.location_id)
        merged[key] = merged.get(key, 0) + item.quantity
    return [StockItem(p, loc, q) for (p, loc), q in sorted(merged.items())]


def reserve(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Reserve every item or none (all in the caller's transaction)."""
    with unit_of_work():
        return [
            _apply(
                i,
                MovementKind.RESERVATION,
                0,
                i.quantity,
                [StockLevel.on_hand - StockLevel.reserved >= i.quantity],
                ref,
            )
            for i in _ordered(items)
        ]


def _held(item: StockItem, ref: Ref) -> int:
    """Units of the level that ``ref`` holds reserved: its reservations less what it
    released or sold (the movements carry the reference)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.reserved_delta), 0)).where(
            StockMovement.ref_type == ref.type,
            StockMovement.ref_id == (None if ref.id is None else str(ref.id)),
            StockMovement.product_id == item.product_id,
            StockMovement.location_id == item.location_id,
        )
    )


def _take_reserved(items: Sequence[StockItem], kind: str, on_hand: bool, ref: Ref) -> list:
    """Units leave ``ref``'s own reservation (sold, or released), never another's: the
    level's conditional UPDATE takes its row lock first, so the reference's holding read
    after it includes every movement committed before, and a shortfall undoes all."""
    movements = []
    for i in _ordered(items):
        movement = _apply(
            i,
            kind,
            -i.quantity if on_hand else 0,
            -i.quantity,
            [StockLevel.reserved >= i.quantity],
            ref,
        )
        held = _held(i, ref) + i.quantity  # before this movement
        if held < i.quantity:
            raise NotReserved(
                _(
                    "%(name)s 的预留已不存在或已处理：需要 %(req)d，该订单仅预留 %(n)d",
                    name=_product(i.product_id).name,
                    req=i.quantity,
                    n=max(held, 0),
                )
            )
        movements.append(movement)
    return movements


def release(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Give ``ref``'s reserved units back to available (an unpaid order expired or was
    cancelled); ``NotReserved`` if it does not hold them."""
    with unit_of_work():
        return _take_reserved(items, MovementKind.RELEASE, False, ref)


def commit_sale(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """``ref``'s reserved units leave as sold (the order was paid); ``NotReserved`` if
    it does not hold them, so an order can never be sold out of another's reservation."""
    with unit_of_work():
        return _take_reserved(items, MovementKind.SALE, True, ref)


def sell(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Units leave as sold without a reservation (fair and counter sales, imports)."""
    with unit_of_work():
        return [
            _apply(
                i,
                MovementKind.SALE,
                -i.quantity,
                0,
                [StockLevel.on_hand - StockLevel.reserved >= i.quantity],
                ref,
            )
            for i in _ordered(items)
        ]


def restock(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Refunded units come back on hand."""
    with unit_of_work():
        return [
            _apply(i, MovementKind.REFUND_RESTOCK, i.quantity, 0, [], ref) for i in _ordered(items)
        ]


def transfer(
    product_id: int, from_location: int, to_location: int, quantity: int, ref: Ref
) -> tuple[StockMovement, StockMovement]:
    """Move available units between two locations of the same vendor."""
    if from_location == to_location:
        raise ValidationError(_("调出和调入位置不能相同"))
    if quantity <= 0:
        raise ValidationError(_("数量必须大于零"))
    with unit_of_work():
        out = _apply(
            StockItem(product_id, from_location, quantity),
            MovementKind.TRANSFER_OUT,
            -quantity,
            0,
            [StockLevel.on_hand - StockLevel.reserved >= quantity],
            ref,
        )
        into = _apply(
            StockItem(product_id, to_location, quantity),
            MovementKind.TRANSFER_IN,
            quantity,
            0,
            [],
            ref,
        )
    return out, into


def receive(product_id: int, location_id: int, quantity: int, ref: Ref) -> StockMovement:
    """Goods in (a harvest batch bought from households, a delivery)."""
    if quantity <= 0:
        raise ValidationError(_("入库数量必须大于零"), {"quantity": _("入库数量必须大于零")})
    with unit_of_work():
        return _apply(
            StockItem(product_id, location_id, quantity), MovementKind.RECEIPT, quantity, 0, [], ref
        )


def adjust(product_id: int, location_id: int, delta: int, reason: str, ref: Ref) -> StockMovement:
    """A correction with a reason; refused if it would take on-hand below what is
    reserved (or below zero)."""
    if reason not in set(AdjustmentReason):
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    if delta == 0:
        raise ValidationError(_("调整数量不能为零"), {"quantity": _("调整数量不能为零")})
    with unit_of_work():
        try:
            return _apply(
                StockItem(product_id, location_id, abs(delta)),
                MovementKind.ADJUSTMENT,
                delta,
                0,
                [StockLevel.on_hand - StockLevel.reserved + delta >= 0],
                ref,
                reason=reason,
            )
        except OutOfStock as exc:
            raise ValidationError(
                _("调整后库存不能为负（当前可用 %(n)d）", n=exc.available),
                {"quantity": _("调整后库存不能为负")},
            ) from None


def set_on_hand(
    product_id: int,
    location_id: int,
    target: int,
    ref: Ref,
    reason: str = AdjustmentReason.COUNT_CORRECTION,
) -> StockMovement | None:
    """Set on-hand to ``target`` through a recorded adjustment (None if already there)."""
    if target < 0:
        raise ValidationError(_("库存不能为负数"))
    with unit_of_work():
        ensure_level(product_id, location_id)
        current = db.session.scalar(
            select(StockLevel.on_hand)
            .where(StockLevel.product_id == product_id, StockLevel.location_id == location_id)
            .with_for_update()
        )
        if current == target:
            return None
        return adjust(product_id, location_id, target - current, reason, ref)


def level(product_id: int, location_id: int) -> StockLevel | None:
    return db.session.scalar(
        select(StockLevel).where(
            StockLevel.product_id == product_id, StockLevel.location_id == location_id
        )
    )


def available(product_id: int) -> int:
    """Units available to sell online: the vendor's warehouse stock minus reservations."""
    value = db.session.scalar(
        select(StockLevel.on_hand - StockLevel.reserved)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .join(Product, Product.id == StockLevel.product_id)
        .where(
            StockLevel.product_id == product_id,
            StockLocation.kind == LocationKind.WAREHOUSE,
            StockLocation.vendor_id == Product.vendor_id,
        )
    )
    return value or 0


# ---------------------------------------------------------------- the vendor's stock pages

DEFAULT_LOW_THRESHOLD = 10  # when the vendor has not set one for a product
LOW_STOCK_ALERTS = 10  # rows in the alert list; the table filter shows the rest
STOCK_SORTS = ("name", "available", "-available")


def vendor_stock_product(actor: User, org: Organization, product_id: int) -> Product:
    """The vendor's own product; another vendor's id is ``NotFound`` (404)."""
    _require(actor, org)
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.vendor_id == org.id)
    )
    if product is None:
        raise NotFound()
    return product


def vendor_locations(actor: User, org: Organization) -> list[StockLocation]:
    """The vendor's active locations, warehouse first (none before the first receipt:
    the warehouse is created on first use)."""
    _require(actor, org)
    return list(
        db.session.scalars(
            select(StockLocation)
            .where(StockLocation.vendor_id == org.id, StockLocation.active.is_(True))
            .order_by(StockLocation.kind != LocationKind.WAREHOUSE, StockLocation.id)
        )
    )


def _vendor_location(org: Organization, location_id: int | None) -> StockLocation:
    """``location_id`` scoped to the vendor (its warehouse when None); else ``NotFound``."""
    if location_id is None:
        return warehouse(org.id)
    location = db.session.scalar(
        select(StockLocation).where(
            StockLocation.id == location_id, StockLocation.vendor_id == org.id
        )
    )
    if location is None:
        raise NotFound()
    return location


def receive_stock(
    actor: User,
    org: Organization,
    product_id: int,
    quantity: int,
    note: str = "",
    location_id: int | None = None,
) -> StockMovement:
    """Goods in at the vendor's warehouse (or another of its locations), with a note such
    as the harvest batch and the households it was bought from."""
    with unit_of_work():
        product = vendor_stock_product(actor, org, product_id)
        location = _vendor_location(org, location_id)
        return receive(
            product.id,
            location.id,
            quantity,
            Ref(type="manual", actor=actor, note=(note or "").strip() or None),
        )


def adjust_stock(
    actor: User,
    org: Organization,
    product_id: int,
    *,
    reason: str,
    delta: int | None = None,
    new_count: int | None = None,
    note: str = "",
    location_id: int | None = None,
) -> StockMovement | None:
    """A correction with a reason, given as a signed change or as the counted on-hand.
    Refused below zero (or below what is reserved). None when the count was already right."""
    if reason not in set(AdjustmentReason):
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    if (delta is None) == (new_count is None):
        raise ValidationError(_("请填写调整数量"), {"quantity": _("请填写调整数量")})
    with unit_of_work():
        product = vendor_stock_product(actor, org, product_id)
        location = _vendor_location(org, location_id)
        ref = Ref(type="manual", actor=actor, note=(note or "").strip() or None)
        if new_count is not None:
            if new_count < 0:
                raise ValidationError(_("库存不能为负数"), {"quantity": _("盘点数量不能为负数")})
            try:
                return set_on_hand(product.id, location.id, new_count, ref, reason)
            except ValidationError as exc:
                raise ValidationError(exc.message, {"quantity": exc.message}) from None
        return adjust(product.id, location.id, delta, reason, ref)


def update_stock_setting(
    actor: User, org: Organization, product_id: int, low_threshold: int, show_exact: bool
) -> StockSetting:
    """The product's low-stock threshold and whether the public sees the exact number."""
    if low_threshold < 0:
        raise ValidationError(
            _("低库存阈值不能为负数"), {"low_threshold": _("低库存阈值不能为负数")}
        )
    with unit_of_work():
        product = vendor_stock_product(actor, org, product_id)
        setting = db.session.get(StockSetting, product.id)
        if setting is None:
            setting = StockSetting(product_id=product.id)
            db.session.add(setting)
        setting.low_threshold = low_threshold
        setting.show_exact = show_exact
        db.session.flush()
        return setting


def stock_setting(product_id: int) -> StockSetting:
    """The product's settings, or the defaults (not stored) when it has none."""
    return db.session.get(StockSetting, product_id) or StockSetting(
        product_id=product_id, low_threshold=DEFAULT_LOW_THRESHOLD, show_exact=False
    )


def _warehouse_levels(vendor_id: int):
    return (
        select(
            StockLevel.product_id.label("product_id"),
            StockLevel.on_hand.label("on_hand"),
            StockLevel.reserved.label("reserved"),
        )
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .where(StockLocation.vendor_id == vendor_id, StockLocation.kind == LocationKind.WAREHOUSE)
        .subquery()
    )


def stock_table(
    actor: User, org: Organization, q: str = "", low_only: bool = False, sort: str = "name"
):
    """Rows of (Product, on_hand, reserved, available, low_threshold, show_exact) for the
    vendor's warehouse, one per product (zeros where nothing was ever received)."""
    _require(actor, org)
    levels = _warehouse_levels(org.id)
    on_hand = func.coalesce(levels.c.on_hand, 0)
    reserved = func.coalesce(levels.c.reserved, 0)
    available_ = (on_hand - reserved).label("available")
    threshold = func.coalesce(StockSetting.low_threshold, DEFAULT_LOW_THRESHOLD)
    stmt = (
        select(
            Product,
            on_hand.label("on_hand"),
            reserved.label("reserved"),
            available_,
            threshold.label("low_threshold"),
            func.coalesce(StockSetting.show_exact, False).label("show_exact"),
        )
        .outerjoin(levels, levels.c.product_id == Product.id)
        .outerjoin(StockSetting, StockSetting.product_id == Product.id)
        .where(Product.vendor_id == org.id)
    )
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.name).like(pattern), Product.sku.ilike(pattern)))
    if low_only:
        stmt = stmt.where(on_hand - reserved <= threshold)
    if sort == "available":
        stmt = stmt.order_by(on_hand - reserved, Product.name, Product.id)
    elif sort == "-available":
        stmt = stmt.order_by((on_hand - reserved).desc(), Product.name, Product.id)
    else:
        stmt = stmt.order_by(Product.name, Product.id)
    return stmt


def stock_rows(stmt) -> list:
    return list(db.session.execute(stmt))


def low_stock_alerts(actor: User, org: Organization, limit: int = LOW_STOCK_ALERTS) -> list:
    """The listed products at or below their threshold, emptiest first."""
    stmt = stock_table(actor, org, low_only=True, sort="available").where(
        Product.status == ProductStatus.ACTIVE
    )
    return list(db.session.execute(stmt.limit(limit)))


def stock_status(available_units: int, threshold: int) -> str:
    if available_units <= 0:
        return "sold_out"
    if available_units <= threshold:
        return "low"
    return "in_stock"


@dataclass(frozen=True)
class MovementFilters:
    product_id: int | None = None
    kind: str | None = None
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive


def vendor_movements(actor: User, org: Organization, filters: MovementFilters):
    """The vendor's movements, newest first; a product filter of another vendor is 404."""
    _require(actor, org)
    stmt = select(StockMovement).where(StockMovement.vendor_id == org.id)
    if filters.product_id is not None:
        vendor_stock_product(actor, org, filters.product_id)
        stmt = stmt.where(StockMovement.product_id == filters.product_id)
    if filters.kind:
        if filters.kind not in set(MovementKind):
            raise ValidationError(_("未知的变动类型"))
        stmt = stmt.where(StockMovement.kind == filters.kind)
    if filters.start is not None:
        stmt = stmt.where(StockMovement.created_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(StockMovement.created_at < filters.end)
    return stmt.order_by(StockMovement.created_at.desc(), StockMovement.id.desc())


def product_levels(actor: User, org: Organization, product_id: int) -> list:
    """(StockLevel, StockLocation) of the vendor's product at each of its locations."""
    product = vendor_stock_product(actor, org, product_id)
    return list(
        db.session.execute(
            select(StockLevel, StockLocation)
            .join(StockLocation, StockLocation.id == StockLevel.location_id)
            .where(StockLevel.product_id == product.id, StockLocation.vendor_id == org.id)
            .order_by(StockLocation.id)
        )
    )


def vendor_product_choices(actor: User, org: Organization, limit: int = 500) -> list:
    """(id, name, sku) of the vendor's products, for filter menus."""
    _require(actor, org)
    return list(
        db.session.execute(
            select(Product.id, Product.name, Product.sku)
            .where(Product.vendor_id == org.id)
            .order_by(Product.name, Product.id)
            .limit(limit)
        )
    )


def movement_export_rows(stmt):
    """(StockMovement, sku, product name, location name) for a ``vendor_movements``
    statement, fetched in batches so a large export does not load all at once."""
    return db.session.execute(
        stmt.join(Product, Product.id == StockMovement.product_id)
        .join(StockLocation, StockLocation.id == StockMovement.location_id)
        .with_only_columns(
            StockMovement, Product.sku, Product.name, StockLocation.name.label("location")
        )
        .execution_options(yield_per=1000)
    )


def count_rows(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


# ---------------------------------------------------------------- public availability


@dataclass(frozen=True)
class Availability:
    status: str  # in_stock | low | sold_out
    quantity: int | None = None  # only when the vendor opted in to show it


def availability(product: Product | int) -> Availability:
    """What the public sees: in stock, low, or sold out (exact units only on opt-in)."""
    product_id = product if isinstance(product, int) else product.id
    units = available(product_id)
    setting = stock_setting(product_id)
    status = stock_status(units, setting.low_threshold)
    return Availability(status, max(units, 0) if setting.show_exact else None)


def ensure_available(product_id: int, quantity: int) -> None:
    """Raise ``OutOfStock`` unless ``quantity`` units can be sold online now (the cart
    asks this before adding; the reservation at checkout is what really holds them)."""
    if quantity <= 0:
        raise ValidationError(_("数量必须大于零"))
    units = available(product_id)
    if units < quantity:
        raise OutOfStock(_product(product_id).name, units, quantity)


# ---------------------------------------------------------------- hooks for the products import


def import_reserved(product_ids: Sequence[int]) -> dict[int, int]:
    """Units reserved at each product's own warehouse (an import may not go below them)."""
    ids = list(product_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(StockLevel.product_id, StockLevel.reserved)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .join(Product, Product.id == StockLevel.product_id)
        .where(
            StockLevel.product_id.in_(ids),
            StockLocation.kind == LocationKind.WAREHOUSE,
            StockLocation.vendor_id == Product.vendor_id,
        )
    )
    return {row.product_id: row.reserved for row in rows}


def import_on_hand(product_id: int, quantity: int, actor, import_name: str) -> None:
    """Set on-hand at the product's warehouse through a recorded count correction, in
    the import's transaction."""
    vendor_id = db.session.scalar(select(Product.vendor_id).where(Product.id == product_id))
    set_on_hand(
        product_id,
        warehouse(vendor_id).id,
        quantity,
        Ref(type="import", id=import_name, actor=actor),
    )
