"""Bulk stock update: a vendor uploads ``sku,quantity,note`` and each row sets the on-hand
at its warehouse through a recorded count correction, all rows or none."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalog.models import Product
from marketplace.importing import Column, Importer, ImportSummary, Row, RowError, integer, text
from marketplace.models import Organization

from .locations import warehouse
from .services import warehouse_reserved
from .stock import Ref
from .stock_counts import set_on_hand_at

MAX_UNITS = 10**7


class StockImport(Importer):
    """Scoped to one vendor: ``StockImport(actor, org=org)``. A SKU of another vendor is
    reported exactly like one that does not exist."""

    name = "stock"
    title = _l("库存")
    key = "sku"
    examples = {"sku": "LZ-001", "quantity": "120", "note": "6月盘点"}
    columns = [
        Column("sku", parse=text(50)),
        Column("quantity", parse=integer(minimum=0, maximum=MAX_UNITS)),
        Column("note", required=False, parse=text(500), default=None),
    ]

    def __init__(self, actor=None, *, org: Organization, **options):
        super().__init__(actor, **options)
        self.org = org

    def _products(self, rows: list[Row]) -> dict[str, int]:
        skus = [r["sku"] for r in rows]
        found = self.lookup(Product.sku, skus, Product.id, Product.vendor_id)
        return {sku: row.id for sku, row in found.items() if row.vendor_id == self.org.id}

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        products = self._products(rows)
        reserved = warehouse_reserved(products.values())
        for row in rows:
            product_id = products.get(row["sku"])
            if product_id is None:
                yield RowError(row.number, "sku", _("unknown sku：本店没有这个 SKU"))
            elif row["quantity"] < reserved.get(product_id, 0):
                yield RowError(
                    row.number,
                    "quantity",
                    _("不能少于已预留的 %(n)d", n=reserved[product_id]),
                )

    def write(self, rows: list[Row]) -> ImportSummary:
        products = self._products(rows)
        location = warehouse(self.org.id)
        changed = 0
        for row in rows:
            movement = set_on_hand_at(
                products[row["sku"]],
                location.id,
                row["quantity"],
                Ref(type="import", id=self.name, actor=self.actor, note=row["note"]),
            )
            changed += movement is not None
        return ImportSummary("stock", {"updated": changed, "unchanged": len(rows) - changed})
