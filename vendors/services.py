"""The vendor's stock pages: use cases (receive, adjust, settings) at a location the
vendor picks, the queries behind the stock table, the alerts and the movement history;
the public availability badge; the products import's port (``WarehouseStock``) and the
ledger check. Stock itself moves through the engine in ``vendors.stock``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from catalog.models import Product, ProductStatus
from catalog.products import own_product
from marketplace.authz import require
from marketplace.errors import NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work

from . import stock
from .locations import chunks, warehouse
from .models import (
    AdjustmentReason,
    LocationKind,
    MovementKind,
    StockLevel,
    StockLocation,
    StockMovement,
    StockSetting,
)
from .stock import Ref, available_query
from .stock_counts import adjust_at, receive_at, set_on_hand_at, set_on_hand_many

# ---------------------------------------------------------------- the vendor's stock pages

DEFAULT_LOW_THRESHOLD = 10  # when the vendor has not set one for a product
LOW_STOCK_ALERTS = 10  # rows in the alert list; the table filter shows the rest
STOCK_SORTS = ("name", "available", "-available")


def vendor_stock_product(actor: User, org: Organization, product_id: int) -> Product:
    """The vendor's own product, for its stock pages; another vendor's id is
    ``NotFound`` (404)."""
    require(actor, "stock.manage", org)
    return own_product(org, product_id)


def vendor_locations(actor: User, org: Organization) -> list[StockLocation]:
    """The vendor's active locations, warehouse first (none before the first receipt:
    the warehouse is created on first use)."""
    require(actor, "stock.manage", org)
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
        return receive_at(
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
                return set_on_hand_at(product.id, location.id, new_count, ref, reason)
            except ValidationError as exc:
                raise ValidationError(exc.message, {"quantity": exc.message}) from None
        return adjust_at(product.id, location.id, delta, reason, ref)


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
    require(actor, "stock.manage", org)
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


def below_threshold(product_ids: Iterable[int]) -> list[tuple[int, int, int]]:
    """(product id, available at the warehouse, threshold) of the given products that are
    at or below their low-stock threshold (what a sale just took may have crossed it)."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    thresholds = dict(
        db.session.execute(
            select(StockSetting.product_id, StockSetting.low_threshold).where(
                StockSetting.product_id.in_(ids)
            )
        ).all()
    )
    free = stock.available_many((pid, stock.WAREHOUSE) for pid in ids)
    found = []
    for pid in ids:
        threshold = thresholds.get(pid, DEFAULT_LOW_THRESHOLD)
        units = free.get((pid, stock.WAREHOUSE), 0)
        if units <= threshold:
            found.append((pid, units, threshold))
    return found


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
    require(actor, "stock.manage", org)
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
    require(actor, "stock.manage", org)
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
    setting = select(StockSetting).where(StockSetting.product_id == product_id)
    units, threshold, show_exact = db.session.execute(  # one query for a product page
        select(
            available_query(product_id).scalar_subquery(),
            setting.with_only_columns(StockSetting.low_threshold).scalar_subquery(),
            setting.with_only_columns(StockSetting.show_exact).scalar_subquery(),
        )
    ).one()
    units = units or 0
    if threshold is None:  # no settings stored: the defaults
        threshold, show_exact = DEFAULT_LOW_THRESHOLD, False
    status = stock_status(units, threshold)
    return Availability(status, max(units, 0) if show_exact else None)


# ---------------------------------------------------------------- the products import's port


def warehouse_reserved(product_ids: Iterable[int]) -> dict[int, int]:
    """Units reserved at each product's own warehouse (a count may not go below them)."""
    ids = sorted(set(product_ids))
    found: dict[int, int] = {}
    for chunk in chunks(ids):
        found.update(
            db.session.execute(
                select(StockLevel.product_id, StockLevel.reserved)
                .join(StockLocation, StockLocation.id == StockLevel.location_id)
                .join(Product, Product.id == StockLevel.product_id)
                .where(
                    StockLevel.product_id.in_(chunk),
                    StockLocation.kind == LocationKind.WAREHOUSE,
                    StockLocation.vendor_id == Product.vendor_id,
                )
            ).all()
        )
    return found


class WarehouseStock:
    """What the products import (catalog, which may not import vendors) needs of stock:
    ``marketplace.registries.StockPort``, filled by the app factory."""

    def reserved(self, product_ids: Sequence[int]) -> dict[int, int]:
        return warehouse_reserved(product_ids)

    def set_on_hand_many(self, targets: dict[int, int], actor, import_name: str) -> None:
        """On-hand at each product's warehouse through recorded count corrections, in the
        import's transaction, set-based (``vendors.stock_counts.set_on_hand_many``)."""
        set_on_hand_many(targets, Ref(type="import", id=import_name, actor=actor))


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class StockAudit:
    on_hand: int  # units on hand, all products and places
    reserved: int
    lowest: int  # the lowest on-hand, reserved or available of any level (never < 0)
    unexplained: int  # levels whose movements do not sum to them (should be 0)


def audit() -> StockAudit:
    """Totals and the ledger check over every level (a full scan: for benchmarks and
    operators, not for pages)."""
    totals = db.session.execute(
        select(
            func.coalesce(func.sum(StockLevel.on_hand), 0),
            func.coalesce(func.sum(StockLevel.reserved), 0),
            func.min(StockLevel.on_hand),
            func.min(StockLevel.reserved),
            func.min(StockLevel.on_hand - StockLevel.reserved),
        )
    ).one()
    sums = {
        (p, loc): (oh, rs)
        for p, loc, oh, rs in db.session.execute(
            select(
                StockMovement.product_id,
                StockMovement.location_id,
                func.sum(StockMovement.on_hand_delta),
                func.sum(StockMovement.reserved_delta),
            ).group_by(StockMovement.product_id, StockMovement.location_id)
        )
    }
    levels = {
        (p, loc): (oh, rs)
        for p, loc, oh, rs in db.session.execute(
            select(
                StockLevel.product_id,
                StockLevel.location_id,
                StockLevel.on_hand,
                StockLevel.reserved,
            )
        )
    }
    unexplained = sum(
        1 for key in sums.keys() | levels.keys() if sums.get(key, (0, 0)) != levels.get(key, (0, 0))
    )
    lowest = min((v for v in totals[2:] if v is not None), default=0)
    return StockAudit(totals[0], totals[1], lowest, unexplained)
