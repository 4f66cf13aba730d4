"""`import products` and `import benefit-links` (docs/formats.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from marketplace import registries
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.importing import (
    Column,
    Importer,
    ImportSummary,
    Row,
    RowError,
    integer,
    iso_date,
    positive_decimal,
    text,
    yuan,
)
from marketplace.models import Household, Organization, utcnow

from .links import replace_link_versions
from .models import ALWAYS, Category, Certification, CertStatus, Product, ProductStatus

_SIX = Decimal("0.000001")


def _weight(value: str) -> Decimal:
    weight = positive_decimal(value)
    # the size first: quantizing 1e400 to six places is beyond Decimal's precision
    if weight >= 10**12 or weight != weight.quantize(_SIX):
        raise ValueError(_("权重最多 6 位小数，且小于 10^12"))
    return weight


def _price(value: str) -> int:
    fen = yuan(value)
    if fen <= 0:
        raise ValueError(_("必须大于零"))
    return fen


class ProductsImport(Importer):
    name = "products"
    title = _l("产品")
    key = "sku"
    examples = {
        "sku": "LZ-001",
        "vendor_code": "V-HK-001",
        "name": "妃子笑荔枝 5斤装",
        "category": "水果",
        "unit": "箱",
        "price": "68.00",
        "certificate_no": "海口扶贫认定〔2026〕第0001号",
        "certified_on": "2026-01-01",
        "valid_until": "2027-12-31",
        "stock": "100",
    }
    columns = [
        Column("sku", parse=text(50)),
        Column("vendor_code", parse=text(50)),
        Column("name", parse=text(200)),
        Column("category", parse=text(50)),
        Column("unit", parse=text(20)),
        Column("price", parse=_price),
        Column("certificate_no", required=False, parse=text(60)),
        Column("certified_on", required=False, parse=iso_date),
        Column("valid_until", required=False, parse=iso_date),
        # on-hand at the vendor's warehouse, set through a recorded adjustment; blank keeps it
        Column("stock", required=False, parse=integer(minimum=0, maximum=10**7), default=None),
    ]

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        vendors = self.lookup(Organization.code, (r["vendor_code"] for r in rows))
        certificates = self.lookup(
            Certification.certificate_no,
            (r["certificate_no"] for r in rows if r["certificate_no"]),
            Certification.product_id,
        )
        products = self.lookup(Product.sku, (r["sku"] for r in rows), Product.id)
        seen_certificates: dict[str, int] = {}
        stock = registries.stock.get()
        reserved = stock.reserved([p.id for p in products.values()]) if stock and products else {}
        for row in rows:
            held = reserved.get(products[row["sku"]].id, 0) if row["sku"] in products else 0
            if row["stock"] is not None and row["stock"] < held:
                yield RowError(row.number, "stock", _("不能少于已预留的 %(n)d", n=held))
            if row["vendor_code"] not in vendors:
                yield RowError(row.number, "vendor_code", _("销售主体不存在"))
            number = row["certificate_no"]
            if number:
                for column in ("certified_on", "valid_until"):
                    if row[column] is None:
                        yield RowError(row.number, column, _("填写证书编号时必填"))
                if (
                    row["certified_on"]
                    and row["valid_until"]
                    and (row["valid_until"] < row["certified_on"])
                ):
                    yield RowError(row.number, "valid_until", _("不能早于 certified_on"))
                if number in seen_certificates:
                    yield RowError(
                        row.number,
                        "certificate_no",
                        _("与第 %(r)d 行重复", r=seen_certificates[number]),
                    )
                seen_certificates[number] = row.number
                holder = certificates.get(number)
                product = products.get(row["sku"])
                if holder is not None and (product is None or holder.product_id != product.id):
                    yield RowError(row.number, "certificate_no", _("证书编号已属于其他产品"))
            else:
                for column in ("certified_on", "valid_until"):
                    if row[column] is not None:
                        yield RowError(row.number, column, _("仅在填写证书编号时使用"))

    def committed(self) -> None:
        bump("catalog")  # the public list shows the new prices and certificates at once

    def vendors(self, rows: list[Row]) -> dict[int, Any]:
        """Each row's vendor (``.id``, ``.name``), by row number."""
        found = self.lookup(
            Organization.code, (r["vendor_code"] for r in rows), Organization.id, Organization.name
        )
        return {r.number: found[r["vendor_code"]] for r in rows}

    def write(self, rows: list[Row]) -> ImportSummary:
        vendors = self.vendors(rows)
        categories = {c.name: c.id for c in db.session.scalars(select(Category))}
        new_categories = sorted({r["category"] for r in rows} - categories.keys())
        for name in new_categories:
            category = Category(name=name, signature=False, position=100)
            db.session.add(category)
            db.session.flush()
            categories[name] = category.id
        existing = self.lookup(Product.sku, (r["sku"] for r in rows), Product.id)
        now = utcnow()
        inserts, updates = [], []
        for row in rows:
            vendor = vendors[row.number]
            values = {
                "sku": row["sku"],
                "vendor_id": vendor.id,
                "name": row["name"],
                "category_id": categories[row["category"]],
                "unit": row["unit"],
                "price": row["price"],
                "updated_at": now,
                "search_text": f"{row['name']} {vendor.name}".lower(),
            }
            found = existing.get(row["sku"])
            if found is None:
                inserts.append(
                    {
                        **values,
                        "status": ProductStatus.ACTIVE,
                        "description": "",
                        "specification": "",
                        "shelf_life": "",
                        "min_order_qty": 1,
                        "featured": False,
                        "created_at": now,
                    }
                )
            else:
                updates.append({"id": found.id, **values})
        if inserts:
            db.session.execute(insert(Product), inserts)
        if updates:
            db.session.execute(update(Product), updates)
        certified = [r for r in rows if r["certificate_no"]]
        created_certs = updated_certs = 0
        if certified:
            ids = self.lookup(Product.sku, (r["sku"] for r in certified), Product.id)
            held = self.lookup(
                Certification.certificate_no,
                (r["certificate_no"] for r in certified),
                Certification.id,
            )
            cert_inserts, cert_updates = [], []
            for row in certified:
                values = {"certified_on": row["certified_on"], "valid_until": row["valid_until"]}
                found = held.get(row["certificate_no"])
                if found is None:
                    cert_inserts.append(
                        {
                            **values,
                            "product_id": ids[row["sku"]].id,
                            "certificate_no": row["certificate_no"],
                            "status": CertStatus.APPROVED,
                            "benefit_mode": None,
                            "expected_annual_value": 0,
                            "note": "imported",
                            "applied_at": now,
                            "decided_at": now,
                        }
                    )
                else:
                    cert_updates.append({"id": found.id, **values})
            if cert_inserts:
                db.session.execute(insert(Certification), cert_inserts)
            if cert_updates:
                db.session.execute(update(Certification), cert_updates)
            created_certs, updated_certs = len(cert_inserts), len(cert_updates)
        stock = registries.stock.get()
        stocked = [r for r in rows if r["stock"] is not None]
        if stock and stocked:
            ids = self.lookup(Product.sku, (r["sku"] for r in stocked), Product.id)
            stock.set_on_hand_many(
                {ids[row["sku"]].id: row["stock"] for row in stocked},
                self.actor or "cli",
                self.name,
            )
        summary = ImportSummary("products", {"created": len(inserts), "updated": len(updates)})
        summary.details.append(f"certifications: {created_certs} created, {updated_certs} updated")
        if new_categories:
            summary.details.append("categories created: " + ", ".join(new_categories))
        return summary


VENDOR_COLUMNS = ("sku", "name", "category", "unit", "price", "stock")


class VendorProductsImport(ProductsImport):
    """A vendor's own product list (``VendorProductsImport(actor, org=org)``): the
    products import without the vendor and certificate columns (a vendor neither names
    another vendor nor certifies itself). A SKU another vendor holds is refused, and
    the error says no more than that the SKU is taken."""

    name = "vendor-products"
    examples = {k: v for k, v in ProductsImport.examples.items() if k in VENDOR_COLUMNS}
    columns = [c for c in ProductsImport.columns if c.name in VENDOR_COLUMNS]

    def __init__(self, actor=None, *, org: Organization, **options):
        super().__init__(actor, **options)
        self.org = org

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        products = self.lookup(Product.sku, (r["sku"] for r in rows), Product.id, Product.vendor_id)
        stock = registries.stock.get()
        own = [p.id for p in products.values() if p.vendor_id == self.org.id]
        reserved = stock.reserved(own) if stock and own else {}
        for row in rows:
            product = products.get(row["sku"])
            if product is not None and product.vendor_id != self.org.id:
                yield RowError(row.number, "sku", _("该 SKU 已被占用，请换一个"))
                continue
            held = reserved.get(product.id, 0) if product is not None else 0
            if row["stock"] is not None and row["stock"] < held:
                yield RowError(row.number, "stock", _("不能少于已预留的 %(n)d", n=held))

    def vendors(self, rows: list[Row]) -> dict[int, Any]:
        return {r.number: self.org for r in rows}


class BenefitLinksImport(Importer):
    name = "benefit-links"
    title = _l("带贫联结（受益农户及权重）")
    key = ""
    examples = {
        "sku": "LZ-001",
        "household_code": "460106001001",
        "weight": "1",
        "valid_from": "2026-01-01",
    }
    columns = [
        Column("sku", parse=text(50)),
        Column("household_code", parse=text(50)),
        Column("weight", parse=_weight),
        Column("valid_from", required=False, parse=iso_date),
    ]

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        products = self.lookup(Product.sku, (r["sku"] for r in rows))
        households = self.lookup(Household.code, (r["household_code"] for r in rows))
        seen: dict[tuple, int] = {}
        for row in rows:
            if row["sku"] not in products:
                yield RowError(row.number, "sku", _("产品不存在"))
            if row["household_code"] not in households:
                yield RowError(row.number, "household_code", _("户编码不在名册中"))
            key = (row["sku"], row["valid_from"], row["household_code"])
            if key in seen:
                yield RowError(row.number, "household_code", _("与第 %(r)d 行重复", r=seen[key]))
            seen[key] = row.number

    def write(self, rows: list[Row]) -> ImportSummary:
        from .models import BenefitLink

        products = self.lookup(Product.sku, (r["sku"] for r in rows), Product.id)
        households = self.lookup(Household.code, (r["household_code"] for r in rows), Household.id)
        versions: dict[tuple[int, object], list] = defaultdict(list)
        for row in rows:
            key = (products[row["sku"]].id, row["valid_from"] or ALWAYS)
            versions[key].append((households[row["household_code"]].id, row["weight"]))
        existing = {
            tuple(row)
            for row in db.session.execute(
                select(BenefitLink.product_id, BenefitLink.valid_from)
                .where(BenefitLink.product_id.in_({k[0] for k in versions}))
                .distinct()
            )
        }
        replaced = sum(key in existing for key in versions)
        replace_link_versions(versions)
        return ImportSummary(
            "benefit-links",
            {
                "versions created": len(versions) - replaced,
                "versions replaced": replaced,
                "links": len(rows),
            },
        )
