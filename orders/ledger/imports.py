"""`import sales` (docs/formats.md); `import fairs` lives with the fairs (orders/fairs/imports.py).

The sales import is set-based: a handful of bulk lookups, orders and lines written with
bulk INSERTs (COPY on PostgreSQL; the lines already flagged certified on their sale date),
then made paid by the ledger's paid-sale core (``record_paid``: claim, certified totals,
attribution, rollup, stock, audit) as every channel's sales are; never an ORM object or a
statement per row. Imported sales are history: they are paid on their date, skip the
sellability check, and move stock only with ``--affect-stock``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from catalog.models import Product
from marketplace.bulk import allocate_ids, bulk_insert, chunks
from marketplace.clock import day_start_utc
from marketplace.extensions import db
from marketplace.importing import (
    Column,
    Importer,
    ImportFailed,
    ImportSummary,
    Row,
    RowError,
    choice,
    integer,
    iso_date,
    text,
    yuan,
)
from marketplace.models import Organization, utcnow
from marketplace.money import MAX_FEN
from orders.fairs.models import Fair
from orders.ledger.books import CertificationBook
from orders.ledger.models import Channel, Order, OrderLine, OrderStatus, PaymentMethod
from orders.ledger.services import STOCK_ON_HAND, PaidSale, record_paid
from vendors import stock
from vendors.stock import REF_ID_MAX, OutOfStock, Place

# the columns whose values every row of one sale_ref must share
ORDER_COLUMNS = ("channel", "date", "fair_code", "buyer")
STOCK_REF_MAX = REF_ID_MAX  # a sale_ref becomes the stock movements' ref id


def import_order_number(sale_ref: str) -> str:
    """A stable order number for an imported sale: "I" + 15 hex digits of its sha1."""
    return "I" + hashlib.sha1(sale_ref.encode("utf-8")).hexdigest()[:15].upper()


@dataclass
class SalesImportSummary(ImportSummary):
    def line(self) -> str:
        c = self.counts
        text_ = (
            f"{self.label}: {c['orders imported']} orders imported ({c['lines']} lines), "
            f"{c['skipped']} skipped"
        )
        return f"dry run, nothing written: {text_}" if self.dry_run else text_


class SalesImport(Importer):
    name = "sales"
    title = _l("销售记录（历史及线下销售）")
    key = ""  # one sale_ref spans several rows
    examples = {
        "sale_ref": "JS-2026-0001",
        "channel": "procurement",
        "date": "2026-03-15",
        "sku": "LZ-001",
        "quantity": "10",
        "unit_price": "68.00",
        "fair_code": "",
        "buyer": "海口市教育局",
        "payment_method": "bank_transfer",
    }
    options = {
        "affect_stock": "Take the sold quantities out of stock (vendor warehouse, or the "
        "vendor's location at the fair); fails the whole import if stock would go negative."
    }
    columns = [
        Column("sale_ref", parse=text(100)),
        Column("channel", parse=choice(Channel)),
        Column("date", parse=iso_date),
        Column("sku", parse=text(50)),
        Column("quantity", parse=integer(minimum=1, maximum=10**9)),
        Column("unit_price", parse=yuan),
        Column("fair_code", required=False, parse=text(50)),
        Column("buyer", required=False, parse=text(200)),
        Column("payment_method", required=False, parse=choice(PaymentMethod)),
    ]

    @property
    def affect_stock(self) -> bool:
        return bool(self.opts.get("affect_stock"))

    # ---- checks ----

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        products = self.lookup(
            Product.sku, (r["sku"] for r in rows), Product.id, Product.vendor_id, Product.name
        )
        fairs = self.lookup(Fair.code, (r["fair_code"] for r in rows if r["fair_code"]), Fair.id)
        errors: list[RowError] = []
        first_of: dict[str, Row] = {}
        order_totals: dict[str, int] = defaultdict(int)
        for row in rows:
            # the line and its order must fit the ledger's money columns (BIGINT fen)
            amount = row["quantity"] * row["unit_price"]
            order_totals[row["sale_ref"]] += amount
            if amount > MAX_FEN:
                errors.append(RowError(row.number, "unit_price", _("数量 × 单价超出金额上限")))
            elif order_totals[row["sale_ref"]] > MAX_FEN:
                errors.append(
                    RowError(row.number, "unit_price", _("该 sale_ref 的订单总额超出金额上限"))
                )
            if row["sku"] not in products:
                errors.append(RowError(row.number, "sku", _("产品不存在")))
            if row["channel"] == Channel.FAIR:
                if not row["fair_code"]:
                    errors.append(RowError(row.number, "fair_code", _("集市销售必须填写集市编号")))
                elif row["fair_code"] not in fairs:
                    errors.append(RowError(row.number, "fair_code", _("集市不存在")))
            elif row["fair_code"]:
                errors.append(RowError(row.number, "fair_code", _("只有集市销售可以填写集市编号")))
            first = first_of.setdefault(row["sale_ref"], row)
            for column in ORDER_COLUMNS:
                if row[column] != first[column]:
                    errors.append(
                        RowError(
                            row.number,
                            column,
                            _(
                                "同一 sale_ref 的各行必须一致：与第 %(r)d 行不同",
                                r=first.number,
                            ),
                        )
                    )
        if self.affect_stock:
            bad = {error.row for error in errors}
            good = [row for row in rows if row.number not in bad]
            errors.extend(self._check_stock(good, products, fairs))
        return errors

    def _check_stock(self, rows: list[Row], products: dict, fairs: dict) -> list[RowError]:
        """Row errors for every row that would take stock below zero (rows of sale_refs
        already imported are skipped and take nothing)."""
        done = self.lookup(Order.external_ref, {r["sale_ref"] for r in rows})
        todo = [r for r in rows if r["sale_ref"] not in done]
        places = _stock_places(fairs)
        keys = [(products[r["sku"]].id, places[r["fair_code"] or None]) for r in todo]
        available = stock.available_many(keys)
        taken: dict[tuple[int, Place], int] = defaultdict(int)
        errors = []
        for row, key in zip(todo, keys, strict=True):
            if len(row["sale_ref"]) > STOCK_REF_MAX:
                errors.append(
                    RowError(
                        row.number,
                        "sale_ref",
                        _("使用 --affect-stock 时不能超过 %(n)d 个字符", n=STOCK_REF_MAX),
                    )
                )
            taken[key] += row["quantity"]
            if taken[key] > available[key]:
                errors.append(
                    RowError(
                        row.number,
                        "quantity",
                        _(
                            "%(name)s 库存不足：可用 %(n)d，到本行共需 %(req)d",
                            name=products[row["sku"]].name,
                            n=max(available[key], 0),
                            req=taken[key],
                        ),
                    )
                )
        return errors

    # ---- writing ----

    def write(self, rows: list[Row]) -> ImportSummary:
        orders: dict[str, list[Row]] = {}
        for row in rows:
            orders.setdefault(row["sale_ref"], []).append(row)
        done = self.lookup(Order.external_ref, orders)
        todo = {ref: lines for ref, lines in orders.items() if ref not in done}
        new_rows = [row for lines in todo.values() for row in lines]
        counts = {"orders imported": len(todo), "lines": len(new_rows), "skipped": len(done)}
        summary = SalesImportSummary("sales", counts)
        if not todo:
            return summary

        products = {
            p.sku: p
            for p in self._fetch(
                Product.sku,
                {r["sku"] for r in new_rows},
                Product.id,
                Product.vendor_id,
                Product.name,
                Product.unit,
            )
        }
        fairs = self.lookup(
            Fair.code, {r["fair_code"] for r in new_rows if r["fair_code"]}, Fair.id
        )
        buyers = self._organizations_named({r["buyer"] for r in new_rows if r["buyer"]})
        now = utcnow()

        # orders and lines go in awaiting payment; the paid-sale core then makes them
        # paid as every channel's sales are (certified flags, attribution, stock, audit)
        order_values = []
        for ref, lines in todo.items():
            first = lines[0]
            method = next((r["payment_method"] for r in lines if r["payment_method"]), None)
            order_values.append(
                {
                    "number": import_order_number(ref),
                    "channel": first["channel"],
                    "status": OrderStatus.PENDING_PAYMENT,
                    "sale_date": None,
                    "paid_at": None,
                    "buyer_user_id": None,
                    "buyer_org_id": buyers.get(first["buyer"]),
                    "buyer_name": first["buyer"],
                    "fair_id": fairs[first["fair_code"]].id if first["fair_code"] else None,
                    "payment_method": method,
                    "total": sum(r["quantity"] * r["unit_price"] for r in lines),
                    "refunded": 0,
                    "certified_total": 0,
                    "external_ref": ref,
                    "expires_at": None,
                    "note": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        order_ids = self._insert_orders(order_values)

        line_rows = [row for lines in todo.values() for row in lines]
        line_ids = allocate_ids(OrderLine.__table__, len(line_rows))
        # lines go in flagged certified on their sale date already, so the core need not
        # update them (it flags what it finds unflagged: the same flags either way)
        book = CertificationBook(p.id for p in products.values())
        line_values = []
        for line_id, row in zip(line_ids, line_rows, strict=True):
            product = products[row["sku"]]
            line_values.append(
                {
                    "id": line_id,
                    "order_id": order_ids[row["sale_ref"]],
                    "product_id": product.id,
                    "vendor_id": product.vendor_id,
                    "product_name": product.name,
                    "unit": product.unit,
                    "unit_price": row["unit_price"],
                    "quantity": row["quantity"],
                    "amount": row["quantity"] * row["unit_price"],
                    "certified": book.certified(product.id, row["date"]),
                    "refunded_quantity": 0,
                    "refunded_amount": 0,
                }
            )
        bulk_insert(OrderLine.__table__, line_values)

        stock_from = STOCK_ON_HAND if self.affect_stock else None
        places = _stock_places(fairs) if self.affect_stock else {}
        sales = []
        for ref, lines in todo.items():
            first = lines[0]
            sales.append(
                PaidSale(
                    order_ids[ref],
                    # only the date is known: the start of that local day
                    day_start_utc(first["date"]),
                    first["date"],
                    stock=stock_from,
                    place=places.get(first["fair_code"] or None, stock.WAREHOUSE),
                )
            )
        try:
            record_paid(sales, actor=self.actor or "import", event="order.imported")
        except OutOfStock as exc:  # taken by someone else since the check
            ref = next(r for r, oid in order_ids.items() if oid == getattr(exc, "order_id", None))
            raise ImportFailed([RowError(todo[ref][0].number, "quantity", exc.message)]) from None
        return summary

    # ---- helpers ----

    @staticmethod
    def _insert_orders(values: list[dict]) -> dict[str, int]:
        """Insert the orders; ``{sale_ref: order id}``. PostgreSQL: ids drawn from the
        sequence, then one COPY; elsewhere a Core INSERT ... RETURNING per chunk (which
        also takes SQLite's write lock before ``allocate_ids`` is used for the lines)."""
        table = Order.__table__
        if db.session.connection().dialect.name == "postgresql":
            ids = allocate_ids(table, len(values))
            for order_id, row in zip(ids, values, strict=True):
                row["id"] = order_id
            bulk_insert(table, values)
            return {row["external_ref"]: row["id"] for row in values}
        found: dict[str, int] = {}
        for chunk in chunks(values):
            result = db.session.execute(
                insert(table).returning(table.c.external_ref, table.c.id), list(chunk)
            )
            found.update(result.all())
        return found

    def _fetch(self, column, keys: Iterable[Any], *extra) -> list[Any]:
        return list(self.lookup(column, keys, *extra).values())

    @staticmethod
    def _organizations_named(names: set[str]) -> dict[str, int]:
        """``{name: organization id}``; with several of one name, the oldest."""
        found: dict[str, int] = {}
        for chunk in chunks(sorted(names)):
            for org_id, name in db.session.execute(
                select(Organization.id, Organization.name)
                .where(Organization.name.in_(chunk))
                .order_by(Organization.id)
            ):
                found.setdefault(name, org_id)
        return found


def _stock_places(fairs: dict) -> dict[str | None, Place]:
    """Where a row's stock is: the vendor's warehouse (no fair code) or its stall at the
    fair, named after the fair when vendors first creates it."""
    places: dict[str | None, Place] = {None: stock.WAREHOUSE}
    for code, row in SalesImport.lookup(Fair.code, fairs, Fair.id, Fair.name).items():
        places[code] = stock.fair_stall(row.id, f"{row.name}（{code}）")
    return places
