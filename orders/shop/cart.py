"""The shopping cart: what may go in it, its lines with today's prices and problems, and
a logged-in buyer's stored cart (a visitor's lives in the session, see the views)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from catalog import pricing
from catalog.models import Product
from catalog.sellability import ensure_sellable, unsellable_reason
from marketplace.clock import local_today
from marketplace.errors import DomainError, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import User
from marketplace.unit_of_work import unit_of_work
from orders.shop.models import CartItem
from vendors import stock
from vendors.stock import OutOfStock

MAX_QUANTITY = 999


@dataclass
class CartLine:
    product: Product
    quantity: int
    unit_price: int  # fen, from the server, never from the form
    problem: str | None = None

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


def cart_lines(items: Mapping[int, int], today: date | None = None) -> list[CartLine]:
    """The cart's lines with today's prices, each marked with why it cannot be ordered
    (not sellable, not enough stock), grouped by vendor then product."""
    today = today or local_today()
    products = (
        {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(items))))}
        if items
        else {}
    )
    lines = []
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None:
            continue
        problem = unsellable_reason(product, today)
        if problem is None:
            try:
                stock.ensure_available(product.id, quantity)
            except OutOfStock as exc:
                problem = (
                    _("库存仅剩 %(n)d %(unit)s", n=exc.available, unit=product.unit)
                    if exc.available
                    else _("已售罄")
                )
        lines.append(CartLine(product, quantity, pricing.unit_price(product, quantity), problem))
    return sorted(lines, key=lambda line: (line.product.vendor_id, line.product.id))


def check_addable(product_id: int, quantity: int, today: date | None = None) -> Product:
    """The product, if ``quantity`` of it may go in a cart today; else a clear error."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(_("数量必须在 1 到 %(n)d 之间", n=MAX_QUANTITY))
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    ensure_sellable(product, today or local_today())
    stock.ensure_available(product.id, quantity)
    return product


def stored_cart(user: User) -> dict[int, int]:
    return {
        item.product_id: item.quantity
        for item in db.session.scalars(
            select(CartItem).where(CartItem.user_id == user.id).order_by(CartItem.id)
        )
    }


def set_cart_quantity(user: User, product_id: int, quantity: int) -> None:
    """Put ``quantity`` of a product in a logged-in user's cart (0 removes it)."""
    with unit_of_work():
        item = db.session.scalar(
            select(CartItem).where(CartItem.user_id == user.id, CartItem.product_id == product_id)
        )
        if quantity <= 0:
            if item is not None:
                db.session.delete(item)
            return
        check_addable(product_id, quantity)
        if item is None:
            db.session.add(CartItem(user_id=user.id, product_id=product_id, quantity=quantity))
        else:
            item.quantity = quantity


def merge_cart(user: User, visitor_items: Mapping[int, int]) -> None:
    """At log-in, a visitor's session cart joins the stored one (quantities add up, capped
    at what may be ordered); items that can no longer be sold are dropped."""
    if not visitor_items:
        return
    with unit_of_work():
        stored = {
            item.product_id: item
            for item in db.session.scalars(select(CartItem).where(CartItem.user_id == user.id))
        }
        for product_id, quantity in visitor_items.items():
            product = db.session.get(Product, product_id)
            if product is None or unsellable_reason(product, local_today()):
                continue
            item = stored.get(product_id)
            total = min(quantity + (item.quantity if item else 0), MAX_QUANTITY)
            if item is None:
                db.session.add(CartItem(user_id=user.id, product_id=product_id, quantity=total))
            else:
                item.quantity = total


def buy_again(user: User, lines: list[tuple[int, int, str]]) -> tuple[list[str], list[str]]:
    """再次购买: put the products of a past order back in a logged-in buyer's cart, each
    in the quantity once bought (added to what the cart holds, capped at what may be
    ordered). ``lines`` are (product id, quantity, name as bought). Products that cannot
    be sold today or are out of stock are left out and named; (added, left out)."""
    added: list[str] = []
    left_out: list[str] = []
    with unit_of_work():
        stored = {
            item.product_id: item
            for item in db.session.scalars(select(CartItem).where(CartItem.user_id == user.id))
        }
        for product_id, quantity, name in lines:
            item = stored.get(product_id)
            total = min(quantity + (item.quantity if item else 0), MAX_QUANTITY)
            try:
                check_addable(product_id, total)
            except (NotFound, DomainError):  # not sellable today, out of stock, gone
                left_out.append(name)
                continue
            if item is None:
                item = CartItem(user_id=user.id, product_id=product_id, quantity=total)
                db.session.add(item)
                stored[product_id] = item
            else:
                item.quantity = total
            added.append(name)
    return added, left_out
