"""Shipping fees (运费/包邮): each vendor's rule, the fee of each vendor's part of a cart
or order, and the provinces a vendor does not deliver fresh goods (生鲜) to.

The rule is per vendor part: a flat fee, nothing when the part's goods reach the
free-shipping amount, and fresh goods refused for the listed provinces. A vendor with no
rule ships free. A part collected at a pick-up station pays no shipping and may hold
fresh goods whatever the rule (the vendor delivers it to the station, in the county).

The fee is fixed on the part at checkout (``Shipment.shipping_fen``), paid with the
goods, and kept apart from the ledger's sales (``Order.shipping_fen``): reports and
household attribution count the goods only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from catalog.models import Product
from marketplace import audit
from marketplace.authz import require
from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import Organization, User
from marketplace.unit_of_work import unit_of_work
from orders.shop.models import DeliveryMethod, ShippingRule

MANAGE = "orders.fulfil"  # whoever runs the vendor's orders sets its shipping
MAX_FEE_FEN = 100_000  # 1,000 yuan: a fee above this is a typing mistake

# the endings a province name may be written with or without
_PROVINCE_ENDINGS = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)


def province_key(name: str) -> str:
    """A province name without its ending, so "广东" and "广东省" are one province."""
    name = "".join((name or "").split())
    for ending in _PROVINCE_ENDINGS:
        if name.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)]
    return name


@dataclass(frozen=True)
class Rule:
    """A vendor's rule as plain values (no rule: ``Rule()``, free shipping)."""

    flat_fee_fen: int = 0
    free_from_fen: int | None = None
    no_fresh_provinces: tuple[str, ...] = ()

    def fee(self, goods_fen: int, method: str = DeliveryMethod.ADDRESS) -> int:
        """The shipping fee of a part whose goods come to ``goods_fen``: none for pick-up,
        none from the free-shipping amount on (exactly the amount ships free), else the
        flat fee."""
        if method == DeliveryMethod.PICKUP:
            return 0
        if self.free_from_fen is not None and goods_fen >= self.free_from_fen:
            return 0
        return self.flat_fee_fen

    def refuses_fresh_to(self, province: str) -> bool:
        """The vendor does not deliver fresh goods to this province."""
        key = province_key(province)
        return bool(key) and any(province_key(p) == key for p in self.no_fresh_provinces)


def rule_of(record: ShippingRule | None) -> Rule:
    if record is None:
        return Rule()
    return Rule(record.flat_fee_fen, record.free_from_fen, tuple(record.no_fresh_provinces or ()))


def rules_for(vendor_ids: Iterable[int]) -> dict[int, Rule]:
    """Each vendor's rule (``Rule()`` for a vendor without one)."""
    ids = sorted(set(vendor_ids))
    found = {
        r.vendor_id: rule_of(r)
        for r in db.session.scalars(select(ShippingRule).where(ShippingRule.vendor_id.in_(ids)))
    }
    return {vendor_id: found.get(vendor_id, Rule()) for vendor_id in ids}


@dataclass
class PartFee:
    """One vendor's part of a cart: its goods, its fee, and the fresh products it would
    refuse to deliver to the chosen province."""

    vendor_id: int
    goods_fen: int
    fee_fen: int
    rule: Rule
    refused: list[Product] = field(default_factory=list)

    @property
    def free_in_fen(self) -> int | None:
        """How much more of this vendor's goods ships the part free (None: it is free
        already, or never free)."""
        if self.fee_fen == 0 or self.rule.free_from_fen is None:
            return None
        return self.rule.free_from_fen - self.goods_fen


def quote(
    lines: Sequence[tuple[Product, int]],
    method: str = DeliveryMethod.ADDRESS,
    province: str = "",
) -> dict[int, PartFee]:
    """Per vendor: the fee of its part, for ``(product, line amount in fen)`` lines
    delivered by ``method`` (to ``province``, when known)."""
    goods: dict[int, int] = {}
    products: dict[int, list[Product]] = {}
    for product, amount in lines:
        goods[product.vendor_id] = goods.get(product.vendor_id, 0) + amount
        products.setdefault(product.vendor_id, []).append(product)
    rules = rules_for(goods)
    parts = {}
    for vendor_id, amount in goods.items():
        rule = rules[vendor_id]
        refused = (
            [p for p in products[vendor_id] if p.is_fresh]
            if method == DeliveryMethod.ADDRESS and rule.refuses_fresh_to(province)
            else []
        )
        parts[vendor_id] = PartFee(vendor_id, amount, rule.fee(amount, method), rule, refused)
    return parts


def ensure_deliverable(parts: Mapping[int, PartFee], province: str) -> None:
    """Refuse an order that would send fresh goods where their vendor does not deliver
    them, naming the goods and what the buyer can do."""
    refused = [p for part in parts.values() for p in part.refused]
    if refused:
        names = "、".join(p.name for p in refused)
        raise ValidationError(
            _(
                "%(names)s 为生鲜商品，商家不向%(province)s配送生鲜。请改为到服务站自提，"
                "或从购物车中移除这些商品。",
                names=names,
                province=province,
            )
        )


# ---------------------------------------------------------------- the vendor's rule


def vendor_rule(actor: User, org: Organization) -> ShippingRule | None:
    require(actor, MANAGE, org)
    return db.session.scalar(select(ShippingRule).where(ShippingRule.vendor_id == org.id))


def parse_provinces(text: str) -> list[str]:
    """Province names from a text field: separated by commas, 、, spaces or lines;
    duplicates dropped, order kept."""
    for sep in ("，", "、", ",", ";", "；", "\n", "\r", "\t"):
        text = (text or "").replace(sep, " ")
    names: list[str] = []
    for name in text.split():
        if province_key(name) not in {province_key(n) for n in names}:
            names.append(name[:20])
    return names


def save_rule(
    actor: User,
    org: Organization,
    flat_fee_fen: int,
    free_from_fen: int | None,
    no_fresh_provinces: Sequence[str],
) -> ShippingRule:
    """Set the vendor's shipping rule (new orders use it; orders placed keep their fee)."""
    require(actor, MANAGE, org)
    if not 0 <= flat_fee_fen <= MAX_FEE_FEN:
        message = _("运费必须在 0 到 1000 元之间")
        raise ValidationError(message, {"flat_fee": message})
    if free_from_fen is not None and free_from_fen < 0:
        message = _("包邮金额不能为负数")
        raise ValidationError(message, {"free_from": message})
    if len(no_fresh_provinces) > 40:
        message = _("不配送生鲜的地区最多填写 40 个")
        raise ValidationError(message, {"no_fresh_provinces": message})
    with unit_of_work():
        rule = db.session.scalar(select(ShippingRule).where(ShippingRule.vendor_id == org.id))
        old = (
            None
            if rule is None
            else {
                "flat_fee_fen": rule.flat_fee_fen,
                "free_from_fen": rule.free_from_fen,
                "no_fresh_provinces": list(rule.no_fresh_provinces or []),
            }
        )
        if rule is None:
            rule = ShippingRule(vendor_id=org.id)
            db.session.add(rule)
        rule.flat_fee_fen = flat_fee_fen
        rule.free_from_fen = free_from_fen
        rule.no_fresh_provinces = list(no_fresh_provinces)
        rule.updated_by_id = actor.id
        db.session.flush()
        audit.record(
            actor,
            "shipping.rule",
            rule,
            org_id=org.id,
            changes={
                "old": old,
                "new": {
                    "flat_fee_fen": flat_fee_fen,
                    "free_from_fen": free_from_fen,
                    "no_fresh_provinces": list(no_fresh_provinces),
                },
            },
        )
    return rule
