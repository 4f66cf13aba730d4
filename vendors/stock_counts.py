"""Stock counts at a location the vendor picked, by id: the vendor's own stock pages
(``vendors/services.py``), the stock import and the products import's set-based count.

They run on the engine of ``vendors.stock`` (the same conditional UPDATE of a stock level
plus a movement row) and stay inside vendors/, which alone names location ids.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, tuple_, update

from marketplace.bulk import bulk_insert
from marketplace.clock import utcnow
from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import User
from marketplace.unit_of_work import after_commit, unit_of_work

from .locations import (
    chunks,
    find_or_create,
    insert_ignore_many,
    vendors_of,
)
from .models import (
    AdjustmentReason,
    MovementKind,
    StockLevel,
    StockMovement,
)
from .stock import (
    WAREHOUSE,
    OutOfStock,
    Ref,
    _apply,
    _free,
    _Item,
    _key,
    _tell_stock_returned,
    ensure_level,
)


def receive_at(product_id: int, location_id: int, quantity: int, ref: Ref) -> StockMovement:
    """Goods in at one of the vendor's locations (the receive page)."""
    if quantity <= 0:
        raise ValidationError(_("入库数量必须大于零"), {"quantity": _("入库数量必须大于零")})
    with unit_of_work():
        return _apply(
            _Item(product_id, location_id, quantity), MovementKind.RECEIPT, quantity, 0, [], ref
        )


def adjust_at(
    product_id: int, location_id: int, delta: int, reason: str, ref: Ref
) -> StockMovement:
    """A correction with a reason; refused if it would take on-hand below what is
    reserved (or below zero)."""
    if reason not in set(AdjustmentReason):
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    if delta == 0:
        raise ValidationError(_("调整数量不能为零"), {"quantity": _("调整数量不能为零")})
    with unit_of_work():
        try:
            return _apply(
                _Item(product_id, location_id, abs(delta)),
                MovementKind.ADJUSTMENT,
                delta,
                0,
                [_free + delta >= 0],
                ref,
                reason=reason,
            )
        except OutOfStock as exc:
            raise ValidationError(
                _("调整后库存不能为负（当前可用 %(n)d）", n=exc.available),
                {"quantity": _("调整后库存不能为负")},
            ) from None


def set_on_hand_at(
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
        return adjust_at(product_id, location_id, target - current, reason, ref)


def set_on_hand_many(
    targets: dict[int, int],
    ref: Ref,
    reason: str = AdjustmentReason.COUNT_CORRECTION,
) -> int:
    """``set_on_hand_at`` for many products at once, each at its own vendor's warehouse,
    in the caller's transaction: the same locked read, conditional UPDATE (never below
    what is reserved) and one adjustment movement per level that changes, done set-based
    (a few statements per chunk, not a handful per product). Returns the number of
    movements; ``ValidationError`` (nothing changed) when a target is below what is
    reserved."""
    if any(target < 0 for target in targets.values()):
        raise ValidationError(_("库存不能为负数"))
    if reason not in set(AdjustmentReason):
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    if not targets:
        return 0
    vendors = vendors_of(targets)
    locations = find_or_create({_key(vendor, WAREHOUSE): None for vendor in set(vendors.values())})
    location_of = {p: locations[_key(vendors[p], WAREHOUSE)] for p in targets}
    pairs = sorted((p, location_of[p]) for p in targets)  # one lock order for everyone
    insert_ignore_many(
        StockLevel,
        [{"product_id": p, "location_id": loc, "on_hand": 0, "reserved": 0} for p, loc in pairs],
        ["product_id", "location_id"],
    )
    current: dict[tuple[int, int], tuple[int, int]] = {}
    for chunk in chunks(pairs):
        for product_id, location_id, on_hand, reserved in db.session.execute(
            select(
                StockLevel.product_id,
                StockLevel.location_id,
                StockLevel.on_hand,
                StockLevel.reserved,
            )
            .where(tuple_(StockLevel.product_id, StockLevel.location_id).in_(chunk))
            .order_by(StockLevel.product_id, StockLevel.location_id)
            .with_for_update()
        ):
            current[(product_id, location_id)] = (on_hand, reserved)
    changes = [
        (p, loc, targets[p], *current[(p, loc)])
        for p, loc in pairs
        if current[(p, loc)][0] != targets[p]
    ]
    for _p, _loc, target, on_hand, reserved in changes:
        if target < reserved:
            raise ValidationError(
                _("调整后库存不能为负（当前可用 %(n)d）", n=max(on_hand - reserved, 0)),
                {"quantity": _("调整后库存不能为负")},
            )
    if not changes:
        return 0
    stmt = (
        update(StockLevel)
        .where(
            StockLevel.product_id == bindparam("p"),
            StockLevel.location_id == bindparam("loc"),
            StockLevel.reserved <= bindparam("target"),
        )
        .values(on_hand=bindparam("target"))
        .execution_options(synchronize_session=False)
    )
    for chunk in chunks(changes):
        db.session.connection().execute(
            stmt, [{"p": p, "loc": loc, "target": target} for p, loc, target, *_rest in chunk]
        )
    actor = ref.actor
    now = utcnow()
    movements = [
        {
            "vendor_id": vendors[p],
            "product_id": p,
            "location_id": loc,
            "kind": MovementKind.ADJUSTMENT.value,
            "on_hand_delta": target - on_hand,
            "reserved_delta": 0,
            "on_hand_after": target,
            "reserved_after": reserved,
            "reason": str(reason),
            "note": ref.note,
            "ref_type": ref.type,
            "ref_id": None if ref.id is None else str(ref.id),
            "actor_id": actor.id if isinstance(actor, User) else None,
            "actor_label": actor.email if isinstance(actor, User) else (actor or "system"),
            "created_at": now,
        }
        for p, loc, target, on_hand, reserved in changes
    ]
    bulk_insert(StockMovement.__table__, movements)
    for p, _loc, target, on_hand, reserved in changes:
        if on_hand - reserved <= 0 < target - reserved:  # a sold-out product is back
            after_commit("stock_returned", _tell_stock_returned, p)
    return len(movements)
