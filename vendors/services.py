"""Stock use cases. Every change is one conditional UPDATE of a stock level (so two
buyers can never both take the last unit, on PostgreSQL as on SQLite) plus a movement
row recording who, why and the balance it left."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.models import Product
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


def release(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Give reserved units back to available (an unpaid order expired or was cancelled)."""
    with unit_of_work():
        return [
            _apply(
                i, MovementKind.RELEASE, 0, -i.quantity, [StockLevel.reserved >= i.quantity], ref
            )
            for i in _ordered(items)
        ]


def commit_sale(items: Sequence[StockItem], ref: Ref) -> list[StockMovement]:
    """Reserved units leave as sold (the order was paid)."""
    with unit_of_work():
        return [
            _apply(
                i,
                MovementKind.SALE,
                -i.quantity,
                -i.quantity,
                [StockLevel.reserved >= i.quantity],
                ref,
            )
            for i in _ordered(items)
        ]


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
            select(StockLevel.on_hand).where(
                StockLevel.product_id == product_id, StockLevel.location_id == location_id
            )
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
