"""One paid-sale core (issue 10, item 1): the same sales fed through the online shop
(checkout, then the local test gateway's payment through ``complete_payment``) and
through the sales import (`import sales --affect-stock`, channel ``online``) leave the
same ledger: orders, lines, attribution, the audit row of each sale, and the stock. A rule
changed in the core reaches both paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEntry
from orders.ledger.books import CertificationBook
from orders.ledger.models import Attribution, Channel, Order, OrderLine, OrderStatus
from orders.shop.checkout import place_order
from orders.shop.payment import complete_payment, start_payment
from vendors import stock
from vendors.stock import Goods, Ref

from ..catalog_factories import BenefitLinkFactory, CertificationFactory
from ..factories import HouseholdFactory, OrgFactory, UserFactory
from ..stock_helpers import warehouse_level
from .test_shop_core import address

# 00:30 on 1 December 2026 in Beijing (still 30 November in UTC): the sale's local date
PAID_AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
SALE_DATE = date(2026, 12, 1)
STOCK = 20
# two sales (orders): sku -> quantity; prices are the products' own
SALES = {"S-1": {"LZ": 3, "HD": 2}, "S-2": {"HD": 1, "MG": 4}}

SALES_HEADER = "sale_ref,channel,date,sku,quantity,unit_price,fair_code,buyer,payment_method\n"


@pytest.fixture
def products() -> dict:
    """Three certified products of two vendors, each with stock and households in
    several villages (weights that do not divide the amounts evenly)."""
    first, second = OrgFactory(name="永兴荔枝合作社"), OrgFactory(name="石山黑豆合作社")
    made = {}
    for sku, vendor, price, weights in (
        ("LZ", first, 1999, (1, 3)),
        ("HD", first, 1250, (2, 2, 1)),
        ("MG", second, 3333, (1,)),
    ):
        product = CertificationFactory(
            certified_on=date(2026, 1, 1),
            valid_until=date(2027, 6, 30),
            product__sku=sku,
            product__vendor=vendor,
            product__price=price,
        ).product
        for weight in weights:
            BenefitLinkFactory(
                product=product, household=HouseholdFactory(), weight=Decimal(weight)
            )
        made[sku] = product
    stock.receive([Goods(p.id, STOCK) for p in made.values()], Ref("test"))
    db.session.commit()
    return made


def through_the_shop(frozen_clock, products: dict) -> list[Order]:
    """Each sale is a checkout, then a payment confirmed by the test gateway."""
    orders = []
    for ref, items in SALES.items():
        buyer = UserFactory()
        frozen_clock(PAID_AT - timedelta(minutes=10))
        order = place_order(
            buyer, {products[sku].id: qty for sku, qty in items.items()}, address(), token=ref
        )
        frozen_clock(PAID_AT)
        assert complete_payment("test", start_payment(order).reference).status == "paid"
        orders.append(order)
    return orders


def through_the_import(runner, tmp_path, products: dict) -> list[Order]:
    """The same sales as CSV rows of `import sales`, channel online, on the same date."""
    rows = [
        f"{ref},online,{SALE_DATE},{sku},{qty},{products[sku].price / 100:.2f},,,card\n"
        for ref, items in SALES.items()
        for sku, qty in items.items()
    ]
    path = tmp_path / "sales.csv"
    path.write_text(SALES_HEADER + "".join(rows), encoding="utf-8")
    result = runner.invoke(args=["import", "sales", str(path), "--affect-stock"])
    assert result.exit_code == 0, result.output
    assert f"{len(SALES)} orders imported" in result.output
    return [db.session.scalar(select(Order).where(Order.external_ref == ref)) for ref in SALES]


def ledger_of(order: Order) -> dict:
    """Every ledger row of the order, by what must be equal whichever channel sold it
    (not the ids, numbers, times, buyer or payment method)."""
    db.session.refresh(order)
    lines = db.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.product_id)
    ).all()
    attribution = db.session.execute(
        select(
            Attribution.household_id,
            Attribution.village_id,
            Attribution.product_id,
            Attribution.vendor_id,
            Attribution.channel,
            Attribution.sale_date,
            Attribution.certified,
            Attribution.amount,
            Attribution.refund_id,
        )
        .where(Attribution.order_id == order.id)
        .order_by(Attribution.product_id, Attribution.household_id)
    ).all()
    paid_audit = db.session.execute(
        select(AuditEntry.action, AuditEntry.changes).where(
            AuditEntry.object_type == "orders",
            AuditEntry.object_id == str(order.id),
            AuditEntry.action.in_(["order.paid", "order.imported"]),
        )
    ).all()
    return {
        "order": (
            order.channel,
            order.status,
            order.sale_date,
            order.total,
            order.certified_total,
            order.refunded,
        ),
        "lines": [
            (
                line.product_id,
                line.vendor_id,
                line.product_name,
                line.unit,
                line.quantity,
                line.unit_price,
                line.amount,
                line.certified,
            )
            for line in lines
        ],
        "attribution": [tuple(row) for row in attribution],
        "audit": [changes for _action, changes in paid_audit],
        "audit_actions": [action for action, _changes in paid_audit],
    }


def on_hand(products: dict) -> dict[str, tuple[int, int]]:
    """(on hand, reserved) at each product's warehouse."""
    db.session.expire_all()
    levels = {sku: warehouse_level(p.id) for sku, p in products.items()}
    return {sku: (level.on_hand, level.reserved) for sku, level in levels.items()}


def test_a_sale_in_the_shop_and_the_same_sale_imported_leave_the_same_ledger(
    runner, tmp_path, frozen_clock, products
):
    before = on_hand(products)
    shop_orders = through_the_shop(frozen_clock, products)
    after_shop = on_hand(products)
    imported = through_the_import(runner, tmp_path, products)
    after_import = on_hand(products)

    shop_ledger = [ledger_of(order) for order in shop_orders]
    import_ledger = [ledger_of(order) for order in imported]
    for sold, recorded in zip(shop_ledger, import_ledger, strict=True):
        assert sold["audit_actions"] == ["order.paid"]
        assert recorded["audit_actions"] == ["order.imported"]
        for part in ("order", "lines", "attribution", "audit"):
            assert sold[part] == recorded[part], part

    # what the comparison stands on: paid, dated locally, certified, spread over households
    first = shop_ledger[0]
    assert first["order"][:3] == (Channel.ONLINE, OrderStatus.PAID, SALE_DATE)
    assert first["order"][3] == first["order"][4] == 3 * 1999 + 2 * 1250
    assert all(line[-1] for line in first["lines"])
    assert len(first["attribution"]) == 2 + 3
    assert all(row[0] is not None and row[6] for row in first["attribution"])
    assert sum(row[7] for row in first["attribution"]) == first["order"][3]
    assert first["audit"] == [{"total": 3 * 1999 + 2 * 1250, "sale_date": "2026-12-01"}]

    # the stock: each path took the sold quantities off hand, and left nothing reserved
    sold = {sku: sum(items.get(sku, 0) for items in SALES.values()) for sku in products}
    for sku in products:
        assert before[sku] == (STOCK, 0)
        assert after_shop[sku] == (STOCK - sold[sku], 0)
        assert after_import[sku] == (STOCK - 2 * sold[sku], 0)


def test_a_rule_changed_in_the_core_reaches_both_paths(
    runner, tmp_path, frozen_clock, products, monkeypatch
):
    """The certified flag is decided once, in the core: told that nothing is certified,
    the shop's and the import's sales are both written uncertified."""
    monkeypatch.setattr(CertificationBook, "certified", lambda self, product_id, day: False)
    shop_orders = through_the_shop(frozen_clock, products)
    imported = through_the_import(runner, tmp_path, products)

    for order in [*shop_orders, *imported]:
        ledger = ledger_of(order)
        assert ledger["order"][4] == 0  # certified_total
        assert ledger["lines"] and not any(line[-1] for line in ledger["lines"])
        assert ledger["attribution"] and not any(row[6] for row in ledger["attribution"])
    for sold, recorded in zip(shop_orders, imported, strict=True):
        a, b = ledger_of(sold), ledger_of(recorded)
        assert (a["order"], a["lines"], a["attribution"], a["audit"]) == (
            b["order"],
            b["lines"],
            b["attribution"],
            b["audit"],
        )
