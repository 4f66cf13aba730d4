"""Catalog demo: 40+ products of the demo vendors with generated photos, most certified,
a few pending, one expired, one suspended, and their benefit links.

Loaded through the real imports and services; dates are relative to today so the demo
always shows current certificates, expiry reminders and a fresh 公示 list.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.importing import run_import
from marketplace.models import Household, Organization, OrgKind, User, Village
from marketplace.unit_of_work import unit_of_work

from . import certification, files, products
from .imports import BenefitLinksImport, ProductsImport
from .models import Certification, Product, ProductImage

# sku, vendor, name, category, unit, price (yuan), specification, shelf life, description
PRODUCTS = [
    (
        "LZ-001",
        "V001",
        "妃子笑荔枝",
        "荔枝",
        "箱",
        "68",
        "5斤装",
        "5天",
        "永兴镇火山岩土壤种植，果大核小，清甜多汁，当天采摘冷链发货。",
    ),
    (
        "LZ-002",
        "V001",
        "白糖罂荔枝",
        "荔枝",
        "箱",
        "78",
        "5斤装",
        "5天",
        "早熟品种，肉厚爽脆，甜度高。",
    ),
    (
        "LZ-003",
        "V001",
        "荔枝干",
        "荔枝",
        "袋",
        "45",
        "500克",
        "12个月",
        "传统柴火烘焙，不加糖，肉厚有嚼劲。",
    ),
    (
        "LZ-004",
        "V001",
        "荔枝礼盒",
        "荔枝",
        "盒",
        "128",
        "3公斤",
        "5天",
        "精选大果，礼盒包装，适合送礼。",
    ),
    (
        "LZ-005",
        "V001",
        "荔枝酒",
        "其他",
        "瓶",
        "88",
        "500毫升",
        "36个月",
        "鲜荔枝发酵酿制，果香浓郁。",
    ),
    (
        "HD-001",
        "V002",
        "石山黑豆",
        "粮油",
        "袋",
        "22",
        "1公斤",
        "12个月",
        "火山岩地区种植的小粒黑豆，适合煲汤、打豆浆。",
    ),
    (
        "HD-002",
        "V002",
        "火山黑豆腐竹",
        "粮油",
        "袋",
        "26",
        "400克",
        "12个月",
        "黑豆磨浆手工制作的腐竹。",
    ),
    (
        "HD-003",
        "V002",
        "火山石斛",
        "南药",
        "盒",
        "168",
        "250克",
        "24个月",
        "仿野生栽培于火山石上，茎粗胶质足。",
    ),
    (
        "HD-004",
        "V002",
        "地瓜叶",
        "蔬菜",
        "斤",
        "6",
        "500克",
        "3天",
        "当天采摘的嫩地瓜叶，清炒最佳。",
    ),
    (
        "LW-001",
        "V003",
        "黑金刚莲雾",
        "莲雾",
        "箱",
        "98",
        "5斤装",
        "7天",
        "三门坡镇特产，色泽深红，清脆多汁。",
    ),
    (
        "LW-002",
        "V003",
        "莲雾礼盒",
        "莲雾",
        "盒",
        "158",
        "3公斤",
        "7天",
        "精选一级果，独立网套包装。",
    ),
    ("LW-003", "V003", "青皮莲雾", "莲雾", "箱", "58", "5斤装", "7天", "口感清甜，性价比高。"),
    ("LW-004", "V003", "莲雾果干", "莲雾", "袋", "35", "250克", "12个月", "低温烘干，保留果香。"),
    (
        "FM-001",
        "V004",
        "野生百花蜜",
        "蜂蜜",
        "瓶",
        "58",
        "500克",
        "24个月",
        "大坡镇山林中采集，多种野花蜜源。",
    ),
    (
        "FM-002",
        "V004",
        "荔枝蜜",
        "蜂蜜",
        "瓶",
        "68",
        "500克",
        "24个月",
        "荔枝花期采集，带有淡淡的荔枝香。",
    ),
    ("FM-003", "V004", "龙眼蜜", "蜂蜜", "瓶", "62", "500克", "24个月", "色泽琥珀，味道浓郁。"),
    ("FM-004", "V004", "鸭脚木冬蜜", "蜂蜜", "瓶", "88", "500克", "24个月", "冬季蜜源，微苦回甘。"),
    ("FM-005", "V004", "蜂王浆", "蜂蜜", "瓶", "128", "250克", "12个月", "新鲜蜂王浆，冷冻保存。"),
    (
        "XI-001",
        "V005",
        "演丰南美白对虾",
        "虾",
        "箱",
        "138",
        "2公斤",
        "冷冻12个月",
        "红树林边生态养殖，鲜活速冻。",
    ),
    (
        "XI-002",
        "V005",
        "冻虾仁",
        "虾",
        "袋",
        "56",
        "500克",
        "冷冻12个月",
        "手工剥壳，无添加保水剂。",
    ),
    (
        "XI-003",
        "V005",
        "红树林海鸭蛋",
        "水产干货",
        "盒",
        "48",
        "20枚",
        "30天",
        "海鸭以红树林小鱼小蟹为食，蛋黄红润起沙。",
    ),
    ("XI-004", "V005", "虾干", "水产干货", "袋", "78", "250克", "12个月", "日晒虾干，鲜甜有嚼劲。"),
    (
        "JI-001",
        "V006",
        "文昌鸡",
        "鸡",
        "只",
        "98",
        "约1.5公斤",
        "冷冻6个月",
        "新坡镇林下散养180天以上，皮薄骨酥。",
    ),
    ("JI-002", "V006", "阉鸡", "鸡", "只", "138", "约2公斤", "冷冻6个月", "传统阉鸡，肉质细嫩。"),
    ("JI-003", "V006", "土鸡蛋", "鸡", "盒", "39", "30枚", "30天", "散养土鸡下的蛋，蛋黄饱满。"),
    (
        "JI-004",
        "V006",
        "白切鸡套餐",
        "鸡",
        "份",
        "88",
        "半只+蘸料",
        "冷冻6个月",
        "真空包装，解冻即食，附秘制蘸料。",
    ),
    (
        "YZ-001",
        "V007",
        "海南椰青",
        "热带水果",
        "箱",
        "59",
        "9个装",
        "15天",
        "遵谭镇椰林现摘，椰汁清甜。",
    ),
    ("YZ-002", "V007", "椰子糖", "其他", "袋", "25", "500克", "12个月", "椰奶熬制，传统工艺。"),
    ("YZ-003", "V007", "菠萝蜜", "热带水果", "个", "68", "约8斤", "5天", "果肉金黄，香甜软糯。"),
    ("YZ-004", "V007", "红心火龙果", "热带水果", "箱", "49", "5斤装", "10天", "红心品种，甜度高。"),
    ("YZ-005", "V007", "贵妃芒", "热带水果", "箱", "55", "5斤装", "7天", "皮薄肉厚，香气浓郁。"),
    ("YZ-006", "V007", "番石榴", "热带水果", "箱", "39", "5斤装", "7天", "脆甜爽口的珍珠番石榴。"),
    ("HH-001", "V008", "蝴蝶兰盆栽", "花卉", "盆", "168", "3株", "—", "红旗镇温室培育，花期长。"),
    ("HH-002", "V008", "三角梅", "花卉", "盆", "58", "高60厘米", "—", "海口市花，四季开花。"),
    ("HH-003", "V008", "红掌", "花卉", "盆", "88", "2株", "—", "寓意红红火火，适合办公室。"),
    ("HH-004", "V008", "富贵竹", "花卉", "束", "28", "10支", "—", "水培即可，好养易活。"),
    (
        "NY-001",
        "V009",
        "益智仁",
        "南药",
        "袋",
        "48",
        "250克",
        "24个月",
        "四大南药之一，三江镇林下种植。",
    ),
    ("NY-002", "V009", "五指毛桃", "南药", "袋", "58", "500克", "24个月", "煲汤佳品，香气独特。"),
    ("NY-003", "V009", "牛大力", "南药", "袋", "68", "500克", "24个月", "切片晒干，适合煲汤泡酒。"),
    (
        "NY-004",
        "V009",
        "沉香线香",
        "南药",
        "盒",
        "198",
        "50支",
        "36个月",
        "海南沉香制作，香气清雅。",
    ),
    (
        "JT-001",
        "V010",
        "大致坡番薯",
        "粮油",
        "箱",
        "36",
        "10斤装",
        "30天",
        "沙地种植的黄心番薯，粉糯香甜。",
    ),
    (
        "JT-002",
        "V010",
        "农家黑猪腊肉",
        "其他",
        "袋",
        "78",
        "500克",
        "6个月",
        "家庭农场自养黑猪，柴火熏制。",
    ),
    (
        "JT-003",
        "V010",
        "咸来村花生",
        "粮油",
        "袋",
        "28",
        "1公斤",
        "12个月",
        "小粒红衣花生，颗粒饱满。",
    ),
    (
        "JT-004",
        "V010",
        "手编椰叶篮",
        "手工艺品",
        "个",
        "45",
        "直径30厘米",
        "—",
        "村里老人手工编织。",
    ),
]
PENDING = {"LZ-005", "YZ-005", "YZ-006"}  # applied for, awaiting the bureau
UNCERTIFIED = {"YZ-002"}  # never applied
EXPIRED = "XI-004"  # certificate ran out
SUSPENDED = "JI-004"  # certificate suspended by the bureau
SOON = {"LZ-003": 5, "FM-004": 25, "HH-004": 80}  # certificates expiring in N days
FEATURED = {"LZ-001", "LW-001", "FM-001", "JI-001", "XI-001", "YZ-001", "HH-001", "NY-001"}
TIERS = {  # bulk prices for agencies: (from quantity, yuan)
    "LZ-001": [(20, "62"), (100, "58")],
    "FM-001": [(20, "52"), (100, "48")],
    "JI-001": [(10, "90"), (50, "85")],
    "HD-001": [(50, "19")],
}
CATEGORY_COLOURS = {
    "荔枝": "#c62828",
    "莲雾": "#ad1457",
    "鸡": "#ef6c00",
    "花卉": "#8e24aa",
    "蜂蜜": "#f9a825",
    "虾": "#e64a19",
    "南药": "#2e7d32",
    "热带水果": "#689f38",
    "粮油": "#6d4c41",
    "蔬菜": "#43a047",
    "水产干货": "#0277bd",
    "手工艺品": "#5d4037",
}
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def photo(name: str, category: str, variant: int = 0) -> io.BytesIO:
    """A simple product picture: a coloured card with the product's name."""
    colour = CATEGORY_COLOURS.get(category, "#00796b")
    image = Image.new("RGB", (800, 600), colour)  # 4:3, as the cards show it
    draw = ImageDraw.Draw(image)
    for i in range(0, 1400, 40):  # soft diagonal stripes
        draw.line([(i + variant * 20, 0), (0, i + variant * 20)], fill="#ffffff22", width=8)
    draw.ellipse([210, 60, 590, 440], fill="#ffffff")
    if FONT.exists():
        font = ImageFont.truetype(str(FONT), 72 if len(name) <= 5 else 52)
        small = ImageFont.truetype(str(FONT), 40)
    else:
        font = small = ImageFont.load_default()
    draw.text((400, 250), name, fill=colour, font=font, anchor="mm")
    draw.text((400, 530), "消费帮扶 · 海口", fill="#ffffff", font=small, anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    out.seek(0)
    return out


def _products_csv(today: date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "sku",
            "vendor_code",
            "name",
            "category",
            "unit",
            "price",
            "certificate_no",
            "certified_on",
            "valid_until",
            "stock",
        ]
    )
    for n, (sku, vendor, name, category, unit, price, *_rest) in enumerate(PRODUCTS, 1):
        if sku in PENDING or sku in UNCERTIFIED:
            cert = ("", "", "")
        elif sku == EXPIRED:
            start = today - timedelta(days=385)
            cert = (f"HKFP-{today.year - 1}-{n:04d}", start, today - timedelta(days=20))
        elif sku in SOON:
            end = today + timedelta(days=SOON[sku])
            cert = (f"HKFP-{today.year - 1}-{n:04d}", end - timedelta(days=364), end)
        else:
            # spread certification dates so the 公示 page shows a few recent ones
            start = today - timedelta(days=(n * 37) % 300 + 3)
            cert = (f"HKFP-{start.year}-{n:04d}", start, start + timedelta(days=364))
        writer.writerow([sku, vendor, name, category, unit, price, *cert, 50 + n * 3])
    return out.getvalue()


def _links_csv(rng: random.Random) -> str:
    """Each product helps households of its vendor's town (or district)."""
    vendors = {
        o.code: o
        for o in db.session.scalars(select(Organization).where(Organization.code.is_not(None)))
    }
    households = list(
        db.session.execute(
            select(Household.code, Village.town_id, Household.village_id).join(
                Village, Household.village_id == Village.id
            )
        ).all()
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "household_code", "weight", "valid_from"])
    for sku, vendor_code, *_rest in PRODUCTS:
        vendor = vendors[vendor_code]
        near = [h for h in households if h[1] == vendor.town_id] or households
        chosen = rng.sample(near, min(len(near), rng.randint(4, 12)))
        for code, _town, _village in sorted(chosen):
            writer.writerow([sku, code, rng.choice(["1", "1", "1.5", "2", "3"]), ""])
        if sku == "LZ-001":  # a second version: two more households joined this season
            extra = [h for h in near if h not in chosen][:2]
            start = local_today().replace(month=1, day=1).isoformat()
            for code, _town, _village in sorted(chosen + extra):
                writer.writerow([sku, code, "1", start])
    return out.getvalue()


def load_catalog_demo() -> bool:
    if db.session.scalar(select(Product.id).where(Product.sku == PRODUCTS[0][0])):
        return False
    products.seed_categories()
    today = local_today()
    rng = random.Random(7)
    run_import(ProductsImport("demo"), _products_csv(today).encode())
    run_import(BenefitLinksImport("demo"), _links_csv(rng).encode())

    villages = {
        o.code: o.village_id
        for o in db.session.scalars(select(Organization).where(Organization.code.is_not(None)))
    }
    details = {p[0]: p for p in PRODUCTS}
    from marketplace.money import parse_yuan

    with unit_of_work():
        for product in db.session.scalars(select(Product)):
            _sku, vendor, name, category, *_r, spec, shelf, description = details[product.sku]
            product.specification, product.shelf_life = spec, shelf
            product.description = description
            product.origin_village_id = villages.get(vendor)
            product.featured = product.sku in FEATURED
            product.min_order_qty = 10 if product.sku in TIERS else 1
            from .models import PriceTier

            product.tiers = [
                PriceTier(min_qty=q, unit_price=parse_yuan(p))
                for q, p in TIERS.get(product.sku, [])
            ]
            db.session.flush()
            product.refresh_search_text()
            for variant in range(2 if product.sku in FEATURED else 1):
                stored = files.store_image(photo(name, category, variant))
                db.session.add(
                    ProductImage(
                        product_id=product.id,
                        filename=stored.filename,
                        thumb_filename=stored.thumb_filename,
                        width=stored.width,
                        height=stored.height,
                        position=variant,
                    )
                )
        # test reports of the certified products, some expiring soon
        for cert in db.session.scalars(select(Certification).join(Certification.product)):
            cert.benefit_mode = rng.choice(["wage", "asset", "business", "purchase"])
            cert.expected_annual_value = rng.randint(5, 80) * 1_000_000
            cert.test_report_file = files.store_report(io.BytesIO(MINIMAL_PDF))
            cert.test_report_valid_until = cert.valid_until
        soon = db.session.scalar(
            select(Certification).join(Certification.product).where(Product.sku == "FM-002")
        )
        soon.test_report_valid_until = today + timedelta(days=12)

    users = {u.email: u for u in db.session.scalars(select(User))}
    bureau_user = users["bureau@demo.cn"]
    bureau = next(m.org for m in bureau_user.memberships if m.org.kind == OrgKind.BUREAU)
    suspended = db.session.scalar(
        select(Certification).join(Certification.product).where(Product.sku == SUSPENDED)
    )
    certification.suspend_certification(
        bureau_user, bureau, suspended.id, "抽检发现标签信息不全，整改期间暂停认定。"
    )
    for sku in sorted(PENDING):
        product = db.session.scalar(select(Product).where(Product.sku == sku))
        vendor = product.vendor
        actor = next((m.user for m in vendor.memberships), None) or bureau_user
        if actor is bureau_user:
            continue  # demo vendors without a login cannot apply themselves
        households = db.session.scalars(
            select(Household.code).join(Village).where(Village.town_id == vendor.town_id).limit(3)
        ).all()
        certification.apply_for_certification(
            actor,
            vendor,
            product.id,
            certification.CertificationApplication(
                benefit_mode="purchase",
                households=[(code, Decimal(1)) for code in households],
                expected_annual_value=3_000_000,
                test_report_file=files.store_report(io.BytesIO(MINIMAL_PDF)),
                test_report_valid_until=today + timedelta(days=300),
                note="合作社按保护价收购农户产品。",
            ),
        )
    return True
