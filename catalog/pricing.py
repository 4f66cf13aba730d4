"""The one pricing rule every channel charges by: a line's unit price comes from the
product's bulk tiers for its quantity (the retail price below every tier), and an agency's
order must reach the product's minimum order quantity. The citizen cart and checkout, the
procurement basket and orders, and the product page all ask here, so the price a page
advertises is the price charged. Orders copy the unit price when placed, so a later price
change never touches them."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from marketplace.errors import ValidationError

from .models import Product


@dataclass(frozen=True)
class TierRow:
    """One band of a product's price table: ``min_qty`` up to ``max_qty`` (None: no end)."""

    min_qty: int
    max_qty: int | None
    unit_price: int  # fen


def unit_price(product: Product, quantity: int) -> int:
    """The unit price, in fen, charged for ``quantity`` units of ``product``."""
    return product.unit_price_for(quantity)


def line_amount(product: Product, quantity: int) -> int:
    return unit_price(product, quantity) * quantity


def minimum_quantity(product: Product, *, agency: bool) -> int:
    """Agencies must order at least the product's minimum; citizens may buy one."""
    return max(product.min_order_qty or 1, 1) if agency else 1


def check_quantity(product: Product, quantity: int, *, agency: bool) -> None:
    """Raise ``ValidationError`` unless ``quantity`` may be ordered (agencies: at least
    the product's minimum order quantity)."""
    if quantity < 1:
        raise ValidationError(_("数量必须大于零"))
    least = minimum_quantity(product, agency=agency)
    if quantity < least:
        raise ValidationError(
            _(
                "%(name)s 起订量为 %(n)d %(unit)s",
                name=product.name,
                n=least,
                unit=product.unit,
            )
        )


def price_table(product: Product) -> list[TierRow]:
    """Retail price, then each tier, as bands of quantity (what the product page shows)."""
    tiers = sorted(product.tiers, key=lambda t: t.min_qty)
    starts = [(1, product.price)] + [(t.min_qty, t.unit_price) for t in tiers]
    return [
        TierRow(start, starts[i + 1][0] - 1 if i + 1 < len(starts) else None, price)
        for i, (start, price) in enumerate(starts)
    ]
