"""Stock demo: on top of the on-hand the products import set, a few receipts naming the
harvest batch, adjustments with reasons, thresholds, some products low and one sold out.

Runs after the catalog step, through the same stock services the pages use.
"""

from __future__ import annotations

from sqlalchemy import select

from catalog.models import Product
from marketplace.extensions import db
from marketplace.unit_of_work import unit_of_work

from . import stock, stock_counts
from .locations import warehouse
from .models import AdjustmentReason, StockSetting

# sku, quantity, note
RECEIPTS = [
    ("LZ-001", 60, "收购自建群村王亚华、李春花等 5 户农户的妃子笑荔枝（第 3 批）"),
    ("HD-001", 120, "石山镇施茶村 8 户农户 2025 年秋收黑豆，按保护价收购"),
    ("LW-001", 40, "东山镇射钗村莲雾基地第 2 批，合作社统一分拣装箱"),
    ("FM-001", 30, "永兴镇美东村 3 户蜂农春季百花蜜"),
    ("YZ-001", 80, "文昌椰林 12 户农户椰青订单收购批次"),
]
# sku, signed change, reason, note
ADJUSTMENTS = [
    ("LZ-001", -3, AdjustmentReason.DAMAGED, "冷链运输途中压坏 3 箱"),
    ("JI-003", -6, AdjustmentReason.SPOILED, "高温天气 6 盒鸡蛋变质"),
    ("HD-004", -10, AdjustmentReason.RETURNED_TO_PRODUCER, "规格不符，退回农户 10 斤"),
    ("YZ-001", 4, AdjustmentReason.COUNT_CORRECTION, "月末盘点多出 4 箱"),
]
# sku, counted on-hand (below the threshold: shows 库存紧张; 0: 已售罄)
COUNTS = [
    ("LZ-002", 6, "盘点：本季最后一批"),
    ("FM-003", 4, "盘点：龙眼蜜余量"),
    ("YZ-003", 3, "盘点：菠萝蜜过季"),
    ("NY-002", 8, "盘点"),
    ("LW-002", 0, "盘点：节日礼盒已全部售完"),
]
# sku, low threshold, show exact number publicly
SETTINGS = [
    ("LZ-001", 20, True),
    ("HD-001", 30, True),
    ("LZ-002", 10, False),
    ("YZ-003", 5, False),
    ("LW-002", 10, False),
]


def load_stock_demo() -> bool:
    products = {p.sku: p for p in db.session.scalars(select(Product))}
    first = products.get(SETTINGS[0][0])
    if first is None or db.session.get(StockSetting, first.id) is not None:
        return False

    def ref(product: Product, note: str) -> stock.Ref:
        member = next((m.user for m in product.vendor.memberships), None)
        return stock.Ref(type="demo", actor=member or "demo", note=note)

    with unit_of_work():
        for sku, quantity, note in RECEIPTS:
            product = products[sku]
            stock.receive([stock.Goods(product.id, quantity)], ref(product, note))
        for sku, delta, reason, note in ADJUSTMENTS:
            product = products[sku]
            location = warehouse(product.vendor_id)
            stock_counts.adjust_at(product.id, location.id, delta, reason, ref(product, note))
        for sku, count, note in COUNTS:
            product = products[sku]
            location = warehouse(product.vendor_id)
            stock_counts.set_on_hand_at(product.id, location.id, count, ref(product, note))
        for sku, threshold, exact in SETTINGS:
            db.session.add(
                StockSetting(product_id=products[sku].id, low_threshold=threshold, show_exact=exact)
            )
    return True
