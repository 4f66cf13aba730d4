"""Fair stalls: stock moved to and from a stall, sales at the stalls (online or synced
from a phone that was offline), voids; every sale is paid on the spot and enters the
ledger through its paid-sale core, with its stock leaving the vendor's stall.

A sale holds a share lock on its fair's row for its whole transaction, so closing (which
takes the row's update lock) waits for sales in flight, and a sale arriving after the
close sees it closed. A sale's client token is unique: the sale claims it first, so of
two submits of one sale the second waits for the first, then finds the token taken and
returns that sale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from catalog.models import Product
from catalog.sellability import unsellable_reason
from marketplace.authz import require
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User, utcnow
from marketplace.unit_of_work import unit_of_work
from orders.fairs.fairs import stall_place, vendor_stall
from orders.fairs.models import Fair, FairStall, FairStatus, StallSale, StallStatus
from orders.ledger import services as ledger
from orders.ledger.models import PAID_STATUSES, Channel, Order, OrderLine, PaymentMethod
from orders.ledger.services import STOCK_ON_HAND, SaleItem
from vendors import stock
from vendors.stock import WAREHOUSE, AdjustmentReason, Goods, Ref

# a sale made offline before the close is still accepted this long after it (marked late)
LATE_SYNC_GRACE = timedelta(hours=2)
# a fair discount may take the price down to this share of the product's price, no lower
MIN_PRICE_PERCENT = 50
STALL_PAYMENTS = (PaymentMethod.CASH, PaymentMethod.WECHAT, PaymentMethod.ALIPAY)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_SALE_LINES = 20
MAX_QUANTITY = 100_000


def _admitted(stall: FairStall) -> None:
    if stall.status != StallStatus.ADMITTED:
        raise IllegalTransition(_("只有获准入场的商户才能在集市销售"))


# ---------------------------------------------------------------- stall stock


def own_product(vendor: Organization, product_id: int | None) -> Product:
    """One of the vendor's products, else ``NotFound``."""
    product = db.session.get(Product, product_id) if product_id else None
    if product is None or product.vendor_id != vendor.id:
        raise NotFound()
    return product


def _stock_stall(actor: User, vendor: Organization, fair_id: int) -> FairStall:
    require(actor, "fairs.sell", vendor)
    require(actor, "stock.manage", vendor)
    stall = vendor_stall(vendor, fair_id)
    _admitted(stall)
    if stall.fair.status not in (FairStatus.PLANNED, FairStatus.OPEN):
        raise IllegalTransition(_("集市已结束，不能再调整摊位库存"))
    return stall


def move_to_stall(
    actor: User, vendor: Organization, fair_id: int, product_id: int, quantity: int
) -> None:
    """Goods from the vendor's warehouse to its stall, before or during the fair."""
    _move(actor, vendor, fair_id, product_id, quantity, to_stall=True)


def move_from_stall(
    actor: User, vendor: Organization, fair_id: int, product_id: int, quantity: int
) -> None:
    """Goods back from the stall to the warehouse during the fair."""
    _move(actor, vendor, fair_id, product_id, quantity, to_stall=False)


def _move(
    actor: User, vendor: Organization, fair_id: int, product_id: int, quantity: int, to_stall: bool
) -> None:
    with unit_of_work():
        stall = _stock_stall(actor, vendor, fair_id)
        product = own_product(vendor, product_id)
        places = (WAREHOUSE, stall_place(stall))
        source, target = places if to_stall else places[::-1]
        stock.transfer(product.id, quantity, source, target, Ref("fair", stall.fair_id, actor))


WRITE_OFF_REASONS = (AdjustmentReason.SPOILED, AdjustmentReason.DAMAGED)


def write_off_at_stall(
    actor: User,
    vendor: Organization,
    fair_id: int,
    product_id: int,
    quantity: int,
    reason: str,
    note: str = "",
) -> None:
    """Spoiled or damaged goods at the stall leave the stock, with their reason."""
    if reason not in WRITE_OFF_REASONS:
        raise ValidationError(_("请选择调整原因"), {"reason": _("请选择调整原因")})
    with unit_of_work():
        stall = _stock_stall(actor, vendor, fair_id)
        product = own_product(vendor, product_id)
        stock.write_off(
            [Goods(product.id, quantity, stall_place(stall))],
            reason,
            Ref("fair", stall.fair_id, actor, note or None),
        )


# ---------------------------------------------------------------- sales


@dataclass(frozen=True)
class SaleLine:
    product_id: int
    quantity: int
    unit_price: int | None = None  # fen; None: the product's price


def sale_by_token(token: str) -> StallSale | None:
    return db.session.scalar(select(StallSale).where(StallSale.token == token))


def _mine(sale: StallSale, vendor: Organization) -> StallSale:
    if sale.stall.vendor_id != vendor.id:
        raise NotFound()
    return sale


def _lock_fair_shared(fair_id: int) -> Fair | None:
    """The fair's row read afresh under a share lock (PostgreSQL): sales run side by
    side, while closing, which updates the row, waits for them."""
    return db.session.scalar(
        select(Fair)
        .where(Fair.id == fair_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


def _price(product: Product, unit_price: int | None) -> int:
    if unit_price is None:
        return product.price
    if unit_price > product.price or unit_price * 100 < product.price * MIN_PRICE_PERCENT:
        raise ValidationError(
            _(
                "%(name)s 的集市价须在原价的 %(pct)d%% 到 100%% 之间",
                name=product.name,
                pct=MIN_PRICE_PERCENT,
            ),
            {"unit_price": _("集市价超出允许范围")},
        )
    return unit_price


@dataclass(frozen=True)
class Recorded:
    sale: StallSale
    repeat: bool  # the token had been recorded before: nothing new was written


def record_stall_sale(
    actor: User,
    vendor: Organization,
    fair_id: int,
    token: str,
    lines: Sequence[SaleLine],
    payment_method: str,
    made_at: datetime | None = None,
) -> Recorded:
    """A sale at the vendor's stall, paid on the spot (cash, WeChat or Alipay collected
    in person): recorded once per client ``token`` (a repeat returns the first), only
    while the fair is open (or, for a sale made offline before the close, within
    ``LATE_SYNC_GRACE`` after it, marked late), only of the vendor's products certified
    on the fair's date and stocked at the stall. ``made_at`` (UTC) is when the phone
    recorded it."""
    require(actor, "fairs.sell", vendor)
    if not isinstance(token, str) or not TOKEN.match(token):
        raise ValidationError(_("销售凭证号无效"))
    existing = sale_by_token(token)
    if existing is not None:
        return Recorded(_mine(existing, vendor), True)
    if payment_method not in STALL_PAYMENTS:
        raise ValidationError(_("请选择收款方式"), {"payment_method": _("请选择收款方式")})
    if not lines or len(lines) > MAX_SALE_LINES:
        raise ValidationError(_("订单中没有商品"))
    for line in lines:
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise ValidationError(_("数量必须大于零"), {"quantity": _("数量必须大于零")})
    now = utcnow()
    made = min(made_at or now, now)
    try:
        with unit_of_work():
            fair = _lock_fair_shared(fair_id)
            if fair is None:
                raise NotFound()
            stall = vendor_stall(vendor, fair.id)
            _admitted(stall)
            late = False
            if fair.status == FairStatus.OPEN:
                if fair.opened_at and made < fair.opened_at:
                    raise IllegalTransition(_("销售时间早于开市时间"))
            elif (
                fair.status == FairStatus.CLOSED
                and fair.closed_at is not None
                and (fair.opened_at is None or made >= fair.opened_at)
                and made <= fair.closed_at
                and now <= fair.closed_at + LATE_SYNC_GRACE
            ):
                late = True  # made offline before the close, synced after it
            elif fair.status == FairStatus.CLOSED:
                raise IllegalTransition(_("集市已闭市，不能再记录销售"))
            else:
                raise IllegalTransition(_("集市尚未开市，不能记录销售"))
            # the token is claimed first: a second submit of this sale waits here
            sale = StallSale(
                token=token,
                fair_id=fair.id,
                stall_id=stall.id,
                made_at=made,
                synced_at=now,
                late=late,
                recorded_by_id=actor.id,
            )
            db.session.add(sale)
            db.session.flush()
            items = []
            for line in lines:
                product = own_product(vendor, line.product_id)
                # certification on the fair's date is checked by the ledger
                items.append(SaleItem(product, line.quantity, _price(product, line.unit_price)))
            place = stall_place(stall)
            if late:
                # the close returned the stall's goods to the warehouse on paper; the
                # ones this sale took were sold at the stall before it
                for item in items:
                    stock.transfer(
                        item.product.id,
                        item.quantity,
                        WAREHOUSE,
                        place,
                        Ref("fair", fair.id, actor, _("闭市后同步的离线销售")),
                    )
            order = ledger.record_paid_sale(
                Channel.FAIR,
                items,
                sale_date=fair.date,
                payment_method=payment_method,
                fair=fair,
                actor=actor,
                paid_at=made,
                stock_from=STOCK_ON_HAND,
                place=place,
            )
            sale.order_id = order.id
            db.session.flush()
    except IntegrityError:
        existing = sale_by_token(token)
        if existing is None:
            raise
        return Recorded(_mine(existing, vendor), True)
    return Recorded(sale, False)


def void_stall_sale(actor: User, vendor: Organization, sale_id: int, reason: str) -> StallSale:
    """Void a sale while the fair is open: the order is refunded in full through the
    ledger (attribution reversed), and its goods come back on hand at the stall."""
    require(actor, "fairs.sell", vendor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写作废原因"), {"reason": _("请填写作废原因")})
    with unit_of_work():
        sale = db.session.get(StallSale, sale_id) if sale_id else None
        if sale is None:
            raise NotFound()
        _mine(sale, vendor)
        fair = _lock_fair_shared(sale.fair_id)
        if fair.status != FairStatus.OPEN:
            raise IllegalTransition(_("只能在集市开市期间作废销售"))
        claimed = db.session.execute(
            update(StallSale)
            .where(StallSale.id == sale.id, StallSale.voided_at.is_(None))
            .values(voided_at=utcnow(), void_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise IllegalTransition(_("这笔销售已作废"))
        order = db.session.get(Order, sale.order_id)
        lines = list(order.lines)
        ledger.refund(
            order,
            [(line.id, line.quantity - line.refunded_quantity) for line in lines],
            reason=reason,
            actor=actor,
        )
        stock.restock(
            [Goods(line.product_id, line.quantity, stall_place(sale.stall)) for line in lines],
            Ref("order", order.number, actor, reason),
        )
        db.session.refresh(sale)
    return sale


# ---------------------------------------------------------------- reads


@dataclass
class StallProduct:
    product: Product
    available: int  # units at the stall
    warehouse: int  # units at the warehouse
    sellable: bool  # certified (and active) on the fair's date


def stall_products(stall: FairStall) -> list[StallProduct]:
    """The vendor's active products with their units at the stall and at the warehouse."""
    products = list(
        db.session.scalars(
            select(Product).where(Product.vendor_id == stall.vendor_id).order_by(Product.name)
        )
    )
    place = stall_place(stall)
    units = stock.available_many(
        [(p.id, place) for p in products] + [(p.id, WAREHOUSE) for p in products]
    )
    day = stall.fair.date
    return [
        StallProduct(
            p,
            units.get((p.id, place), 0),
            units.get((p.id, WAREHOUSE), 0),
            unsellable_reason(p, day) is None,
        )
        for p in products
    ]


def recent_sales(stall: FairStall, limit: int = 20) -> list[StallSale]:
    return list(
        db.session.scalars(
            select(StallSale)
            .where(StallSale.stall_id == stall.id)
            .order_by(StallSale.id.desc())
            .limit(limit)
        )
    )


@dataclass
class Totals:
    orders: int = 0
    amount: int = 0  # fen, net of refunds (voids)
    by_vendor: list[tuple[str, int, int]] = None  # (name, orders, fen)
    by_product: list[tuple[str, int, int]] = None  # (name, quantity, fen)
    by_payment: list[tuple[str, int, int]] = None  # (method, orders, fen)


def fair_totals(fair_id: int, stall: FairStall | None = None) -> Totals:
    """A fair's (or one stall's) paid sales net of voids, by vendor, product and payment."""
    conditions = [Order.fair_id == fair_id, Order.status.in_(PAID_STATUSES)]
    line_conditions = list(conditions)
    if stall is not None:
        line_conditions.append(OrderLine.vendor_id == stall.vendor_id)
    net_line = OrderLine.amount - OrderLine.refunded_amount
    net_order = Order.total - Order.refunded
    totals = Totals()
    totals.amount = int(
        db.session.scalar(
            select(func.coalesce(func.sum(net_line), 0))
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(*line_conditions)
        )
    )
    totals.orders = int(
        db.session.scalar(
            select(func.count(func.distinct(Order.id)))
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(*line_conditions, Order.refunded < Order.total)
        )
        or 0
    )
    totals.by_vendor = [
        (name, int(n), int(fen))
        for name, n, fen in db.session.execute(
            select(
                Organization.name,
                func.count(func.distinct(Order.id)).filter(Order.refunded < Order.total),
                func.sum(net_line),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Organization, Organization.id == OrderLine.vendor_id)
            .where(*line_conditions)
            .group_by(Organization.name)
            .order_by(func.sum(net_line).desc())
        )
    ]
    totals.by_product = [
        (name, int(q), int(fen))
        for name, q, fen in db.session.execute(
            select(
                OrderLine.product_name,
                func.sum(OrderLine.quantity - OrderLine.refunded_quantity),
                func.sum(net_line),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(*line_conditions)
            .group_by(OrderLine.product_name)
            .order_by(func.sum(net_line).desc())
        )
    ]
    if stall is None:
        payment_rows = db.session.execute(
            select(
                Order.payment_method,
                func.count(Order.id).filter(Order.refunded < Order.total),
                func.sum(net_order),
            )
            .where(*conditions)
            .group_by(Order.payment_method)
            .order_by(Order.payment_method)
        )
    else:
        payment_rows = db.session.execute(
            select(
                Order.payment_method,
                func.count(func.distinct(Order.id)).filter(Order.refunded < Order.total),
                func.sum(net_line),
            )
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(*line_conditions)
            .group_by(Order.payment_method)
            .order_by(Order.payment_method)
        )
    totals.by_payment = [(m or "", int(n), int(fen)) for m, n, fen in payment_rows]
    return totals
