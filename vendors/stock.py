"""The stock engine and its public API.

Other packages move stock in their own words: quantities of products (``Goods``) at a
``Place`` (the vendor's warehouse, its stall at a fair, or a store counter) for a
``Ref`` saying what the movement belongs to. The engine finds or creates the location
rows itself (INSERT ... ON CONFLICT DO NOTHING, then a select, so two requests creating
the same location do not collide), and no other package names a stock table or a
location id. The vendor of the goods is the product's vendor.

Every change is one conditional UPDATE of a stock level (so two buyers can never both
take the last unit, on PostgreSQL as on SQLite) plus a movement row recording who, why
and the balance it left. Multi-line operations merge their items per product and
location and sort them, so concurrent operations take their row locks in one order.

The vendor's own stock pages (``vendors/services.py``) work at a location the vendor
picked, by id, through the ``*_at`` functions of ``vendors.stock_counts``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select, tuple_, update

from catalog.models import Product
from marketplace import registries
from marketplace.clock import local_date
from marketplace.errors import DomainError, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User
from marketplace.unit_of_work import after_commit, unit_of_work

from .locations import (
    LocationKey,
    chunks,
    find,
    find_or_create,
    insert_ignore,
    vendors_of,
)
from .models import (
    AdjustmentReason,
    LocationKind,
    MovementKind,
    StockLevel,
    StockLocation,
    StockMovement,
)

REF_ID_MAX = StockMovement.__table__.c.ref_id.type.length  # a Ref's id, as stored


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
class Place:
    """Where goods are: the vendor's warehouse, its stall at a fair, or a store counter.

    A place is known by its kind and ``ref_id``; ``name`` only labels the location when
    it is first used, so it takes no part in equality."""

    kind: str = LocationKind.WAREHOUSE  # "warehouse" | "fair" | "counter"
    ref_id: int | None = None  # the fair's id, or the store's id
    name: str | None = field(default=None, compare=False)  # the location's name when first used

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LocationKind(self.kind).value)  # ValueError if unknown
        if (self.kind == LocationKind.WAREHOUSE) != (self.ref_id is None):
            raise ValueError("a warehouse has no ref_id; a fair stall or a counter needs one")


WAREHOUSE = Place()


def fair_stall(fair_id: int, name: str) -> Place:
    """The vendor's stall at a fair."""
    return Place(LocationKind.FAIR, fair_id, name)


def store_counter(store_id: int, name: str) -> Place:
    """The vendor's goods at a store's poverty-relief counter (专柜)."""
    return Place(LocationKind.COUNTER, store_id, name)


@dataclass(frozen=True)
class Goods:
    product_id: int
    quantity: int
    place: Place = WAREHOUSE


@dataclass(frozen=True)
class Ref:
    """What a movement belongs to (an order, a fair, an import) and who caused it."""

    type: str | None = None
    id: str | int | None = None
    actor: User | str | None = None
    note: str | None = None


@dataclass(frozen=True)
class _Item:
    product_id: int
    location_id: int
    quantity: int


def _key(vendor_id: int, place: Place) -> LocationKey:
    return (vendor_id, place.kind, place.ref_id)


def _resolve(goods: Sequence[Goods]) -> list[_Item]:
    """Goods as items at location ids (locations created on first use), merged, sorted."""
    for g in goods:
        if g.quantity <= 0:
            raise ValidationError(_("数量必须大于零"))
    if not goods:
        return []
    vendors = vendors_of(g.product_id for g in goods)
    names: dict[LocationKey, str | None] = {}
    for g in goods:
        names.setdefault(_key(vendors[g.product_id], g.place), g.place.name)
    locations = find_or_create(names)
    return _ordered(
        [
            _Item(g.product_id, locations[_key(vendors[g.product_id], g.place)], g.quantity)
            for g in goods
        ]
    )


# ---------------------------------------------------------------- the engine


def ensure_level(product_id: int, location_id: int) -> None:
    insert_ignore(
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
    item: _Item,
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
        available_ = current.on_hand - current.reserved if current else 0
        raise OutOfStock(product.name, available_, abs(on_hand_delta or reserved_delta))
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
    _note_if_back(item, on_hand_delta - reserved_delta, row.on_hand - row.reserved)
    return movement


def _note_if_back(item: _Item, available_delta: int, available_after: int) -> None:
    """A product that had nothing available at its warehouse and now has: once the use
    case commits, whoever listens (the 到货提醒 subscribers) is told."""
    if available_delta <= 0 or available_after <= 0 or available_after - available_delta > 0:
        return
    location = db.session.get(StockLocation, item.location_id)
    if location is not None and location.kind == LocationKind.WAREHOUSE:
        after_commit("stock_returned", _tell_stock_returned, item.product_id)


def _tell_stock_returned(product_ids: list[int]) -> None:
    listener = registries.stock_returned.get()
    if listener is not None:
        listener(product_ids)


def _ordered(items: Sequence[_Item]) -> list[_Item]:
    """Items merged per (product, location) and sorted, so concurrent multi-line
    operations take their row locks in the same order and cannot deadlock."""
    merged: dict[tuple[int, int], int] = {}
    for item in items:
        if item.quantity <= 0:
            raise ValidationError(_("数量必须大于零"))
        key = (item.product_id, item.location_id)
        merged[key] = merged.get(key, 0) + item.quantity
    return [_Item(p, loc, q) for (p, loc), q in sorted(merged.items())]


_free = StockLevel.on_hand - StockLevel.reserved  # available units, in SQL


# ---------------------------------------------------------------- the public API


def reserve(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """Reserve every line or none (all in the caller's transaction)."""
    with unit_of_work():
        return [
            _apply(i, MovementKind.RESERVATION, 0, i.quantity, [_free >= i.quantity], ref)
            for i in _resolve(goods)
        ]


def _held(item: _Item, ref: Ref) -> int:
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


def _take_reserved(goods: Sequence[Goods], kind: str, on_hand: bool, ref: Ref) -> list:
    """Units leave ``ref``'s own reservation (sold, or released), never another's: the
    level's conditional UPDATE takes its row lock first, so the reference's holding read
    after it includes every movement committed before, and a shortfall undoes all."""
    movements = []
    for i in _resolve(goods):
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


def release(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """Give ``ref``'s reserved units back to available (an unpaid order expired or was
    cancelled); ``NotReserved`` if it does not hold them."""
    with unit_of_work():
        return _take_reserved(goods, MovementKind.RELEASE, False, ref)


def commit_sale(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """``ref``'s reserved units leave as sold (the order was paid); ``NotReserved`` if
    it does not hold them, so an order can never be sold out of another's reservation."""
    with unit_of_work():
        return _take_reserved(goods, MovementKind.SALE, True, ref)


def sell(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """Units leave as sold without a reservation (fair and counter sales, imports)."""
    with unit_of_work():
        return [
            _apply(i, MovementKind.SALE, -i.quantity, 0, [_free >= i.quantity], ref)
            for i in _resolve(goods)
        ]


def restock(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """Refunded units come back on hand."""
    with unit_of_work():
        return [
            _apply(i, MovementKind.REFUND_RESTOCK, i.quantity, 0, [], ref) for i in _resolve(goods)
        ]


def receive(goods: Sequence[Goods], ref: Ref) -> list[StockMovement]:
    """Goods in (a harvest batch bought from households, a delivery)."""
    with unit_of_work():
        return [_apply(i, MovementKind.RECEIPT, i.quantity, 0, [], ref) for i in _resolve(goods)]


def transfer(
    product_id: int, quantity: int, source: Place, target: Place, ref: Ref
) -> tuple[StockMovement, StockMovement]:
    """Move available units of a product between two places of its vendor (to a fair
    stall and back, to a store counter)."""
    if source == target:
        raise ValidationError(_("调出和调入位置不能相同"))
    if quantity <= 0:
        raise ValidationError(_("数量必须大于零"))
    with unit_of_work():
        vendor_id = vendors_of([product_id])[product_id]
        names = {_key(vendor_id, source): source.name, _key(vendor_id, target): target.name}
        locations = find_or_create(names)
        out = _Item(product_id, locations[_key(vendor_id, source)], quantity)
        into = _Item(product_id, locations[_key(vendor_id, target)], quantity)
        # lock both levels in location order, as every multi-line operation does, before
        # taking out (which may fail) and putting in
        for location_id in sorted((out.location_id, into.location_id)):
            ensure_level(product_id, location_id)
            db.session.execute(
                select(StockLevel.id)
                .where(StockLevel.product_id == product_id, StockLevel.location_id == location_id)
                .with_for_update()
            )
        return (
            _apply(out, MovementKind.TRANSFER_OUT, -quantity, 0, [_free >= quantity], ref),
            _apply(into, MovementKind.TRANSFER_IN, quantity, 0, [], ref),
        )


def write_off(goods: Sequence[Goods], reason: str, ref: Ref) -> list[StockMovement]:
    """Units lost at their place (spoiled or damaged at a fair stall, say), with a reason:
    an adjustment out of what is available there, refused (``OutOfStock``) beyond it."""
    if reason not in set(AdjustmentReason):
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    with unit_of_work():
        return [
            _apply(
                i,
                MovementKind.ADJUSTMENT,
                -i.quantity,
                0,
                [_free >= i.quantity],
                ref,
                reason=reason,
            )
            for i in _resolve(goods)
        ]


def holdings(vendor_id: int, place: Place) -> dict[int, int]:
    """``{product id: units available}`` of a vendor's goods at ``place`` (its stall at
    a fair, its goods at a counter), products with none left out."""
    location_id = find([_key(vendor_id, place)]).get(_key(vendor_id, place))
    if location_id is None:
        return {}
    return {
        product_id: units
        for product_id, units in db.session.execute(
            select(StockLevel.product_id, _free)
            .where(StockLevel.location_id == location_id)
            .order_by(StockLevel.product_id)
        )
        if units > 0
    }


def vendors_at(place: Place) -> list[int]:
    """The vendors holding goods (or having held them) at a fair or a store counter."""
    return list(
        db.session.scalars(
            select(StockLocation.vendor_id)
            .where(StockLocation.kind == place.kind, StockLocation.place_ref == place.ref_id)
            .order_by(StockLocation.vendor_id)
        )
    )


def first_arrival(vendor_id: int, place: Place) -> date | None:
    """The local date the vendor's first goods reached ``place`` (None: never)."""
    location_id = find([_key(vendor_id, place)]).get(_key(vendor_id, place))
    if location_id is None:
        return None
    first = db.session.scalar(
        select(func.min(StockMovement.created_at)).where(
            StockMovement.location_id == location_id, StockMovement.on_hand_delta > 0
        )
    )
    return None if first is None else local_date(first)


def available_query(product_id: int, place: Place = WAREHOUSE):
    """SQL: ``available``'s units (no row when nothing is stocked there)."""
    return (
        select(_free)
        .join(StockLocation, StockLocation.id == StockLevel.location_id)
        .join(Product, Product.id == StockLevel.product_id)
        .where(
            StockLevel.product_id == product_id,
            StockLocation.vendor_id == Product.vendor_id,
            StockLocation.kind == place.kind,
            StockLocation.place_ref.is_(None)
            if place.ref_id is None
            else StockLocation.place_ref == place.ref_id,
        )
    )


def available(product_id: int, place: Place = WAREHOUSE) -> int:
    """Units of the product on hand and not reserved at its vendor's ``place`` (at the
    warehouse: what can be sold online)."""
    return db.session.scalar(available_query(product_id, place)) or 0


def ensure_available(product_id: int, quantity: int, place: Place = WAREHOUSE) -> None:
    """Raise ``OutOfStock`` unless ``quantity`` units are available at ``place`` now (the
    cart asks this before adding; the reservation at checkout is what really holds them)."""
    if quantity <= 0:
        raise ValidationError(_("数量必须大于零"))
    units = available(product_id, place)
    if units < quantity:
        raise OutOfStock(_product(product_id).name, units, quantity)


def available_many(keys: Iterable[tuple[int, Place]]) -> dict[tuple[int, Place], int]:
    """``available`` for many (product id, place) pairs in a few queries (an import's
    pre-check); 0 where nothing is stocked. Creates nothing."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    vendors = vendors_of(product_id for product_id, _place in keys)
    locations = find(_key(vendors[p], place) for p, place in keys)
    pairs = sorted(
        {
            (p, locations[_key(vendors[p], place)])
            for p, place in keys
            if _key(vendors[p], place) in locations
        }
    )
    levels: dict[tuple[int, int], int] = {}
    for chunk in chunks(pairs):
        for product_id, location_id, units in db.session.execute(
            select(StockLevel.product_id, StockLevel.location_id, _free).where(
                tuple_(StockLevel.product_id, StockLevel.location_id).in_(chunk)
            )
        ):
            levels[(product_id, location_id)] = units
    found: dict[tuple[int, Place], int] = {}
    for p, place in keys:
        location_id = locations.get(_key(vendors[p], place))
        found[(p, place)] = 0 if location_id is None else levels.get((p, location_id), 0)
    return found
