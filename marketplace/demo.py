"""Haikou demo data: places, poor villages, households, organizations, one login per role.

Loaded through the same CSV imports and services the real system uses. Each step checks
whether its data is there, so `flask demo load` can run any number of times. Later
packages add their own steps (products, orders, fairs) through the app factory.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable

from sqlalchemy import select

from . import registries
from .extensions import db
from .importing import run_import
from .models import (
    District,
    Membership,
    Organization,
    OrgKind,
    OrgStatus,
    Role,
    User,
    Village,
    utcnow,
)
from .unit_of_work import unit_of_work

DEMO_PASSWORD = "demo2026"

PLACES: dict[str, dict[str, list[str]]] = {
    "秀英区": {
        "永兴镇": ["建群村", "美东村", "博强村", "永德村"],
        "石山镇": ["施茶村", "道堂村", "美岭村"],
        "东山镇": ["东城村", "射钗村"],
        "长流镇": ["长北村"],
    },
    "龙华区": {
        "新坡镇": ["光明村", "仁南村", "民丰村"],
        "遵谭镇": ["东谭村", "咸谭村"],
        "龙泉镇": ["翰香村"],
        "城西镇": ["沙坡村"],
    },
    "琼山区": {
        "三门坡镇": ["谭文村", "清泉村", "龙马村"],
        "大坡镇": ["新瑞村", "福坡村"],
        "红旗镇": ["本立村", "墨桥村"],
        "甲子镇": ["昌文村"],
    },
    "美兰区": {
        "三江镇": ["茄南村", "上山村"],
        "演丰镇": ["演西村", "山尾村"],
        "大致坡镇": ["咸来村", "昌福村"],
        "灵山镇": ["大林村"],
    },
}
# 22 poor villages (贫困村)
POOR_VILLAGES = {
    "建群村",
    "美东村",
    "博强村",
    "施茶村",
    "道堂村",
    "射钗村",
    "光明村",
    "仁南村",
    "东谭村",
    "咸谭村",
    "翰香村",
    "谭文村",
    "清泉村",
    "龙马村",
    "新瑞村",
    "福坡村",
    "本立村",
    "昌文村",
    "茄南村",
    "上山村",
    "咸来村",
    "昌福村",
}

SURNAMES = "王李张陈吴林黄符邢冯周郑云羅梁蔡钟莫潘许".replace("羅", "罗")
GIVEN = [
    "亚华",
    "春花",
    "海明",
    "德才",
    "秀英",
    "文光",
    "大山",
    "美玲",
    "成功",
    "少雄",
    "桂兰",
    "志强",
    "玉梅",
    "家福",
    "明珠",
    "国平",
    "小燕",
    "育才",
    "永生",
    "惠芳",
]

VENDORS = [
    # code, name, kind, district, town, village, credit code, phone
    (
        "V001",
        "海口永兴荔枝种植专业合作社",
        "cooperative",
        "秀英区",
        "永兴镇",
        "建群村",
        "",
        "13907560001",
    ),
    (
        "V002",
        "海口石山黑豆种养专业合作社",
        "cooperative",
        "秀英区",
        "石山镇",
        "施茶村",
        "",
        "13907560002",
    ),
    (
        "V003",
        "海口三门坡莲雾专业合作社",
        "cooperative",
        "琼山区",
        "三门坡镇",
        "谭文村",
        "",
        "13907560003",
    ),
    (
        "V004",
        "海口大坡蜂业专业合作社",
        "cooperative",
        "琼山区",
        "大坡镇",
        "新瑞村",
        "",
        "13907560004",
    ),
    (
        "V005",
        "海口演丰海产养殖专业合作社",
        "cooperative",
        "美兰区",
        "演丰镇",
        "演西村",
        "",
        "13907560005",
    ),
    (
        "V006",
        "海口新坡文昌鸡养殖专业合作社",
        "cooperative",
        "龙华区",
        "新坡镇",
        "光明村",
        "",
        "13907560006",
    ),
    (
        "V007",
        "海南椰乡农业开发有限公司",
        "enterprise",
        "龙华区",
        "遵谭镇",
        "东谭村",
        "",
        "13907560007",
    ),
    (
        "V008",
        "海口红旗花卉苗木有限公司",
        "enterprise",
        "琼山区",
        "红旗镇",
        "本立村",
        "",
        "13907560008",
    ),
    (
        "V009",
        "海口三江南药种植有限公司",
        "enterprise",
        "美兰区",
        "三江镇",
        "茄南村",
        "",
        "13907560009",
    ),
    ("V010", "符亚华家庭农场", "household", "美兰区", "大致坡镇", "咸来村", "", "13907560010"),
]

# email, name, role label (printed), org key, role
DEMO_USERS = [
    ("bureau@demo.cn", "陈局长", "乡村振兴局 管理员", "bureau", Role.ADMIN),
    ("bureau.staff@demo.cn", "林科员", "乡村振兴局 工作人员", "bureau", Role.STAFF),
    ("coop@demo.cn", "王社长", "合作社 管理员", "V001", Role.ADMIN),
    ("enterprise@demo.cn", "吴经理", "企业 工作人员", "V007", Role.STAFF),
    ("buyer@demo.cn", "张采购", "预算单位 采购员", "agency1", Role.BUYER),
    ("approver@demo.cn", "李处长", "预算单位 审批人", "agency1", Role.APPROVER),
    ("fair@demo.cn", "黄主任", "集市主办方", "fair", Role.ADMIN),
    ("counter@demo.cn", "郑店长", "商超专柜", "retailer", Role.ADMIN),
    ("citizen@demo.cn", "李市民", "市民", None, None),
    ("citizen2@demo.cn", "王阿姨", "市民", None, None),
    ("citizen3@demo.cn", "陈先生", "市民", None, None),
]

OTHER_ORGS = {
    # key: (name, kind, district)
    "bureau": ("海口市乡村振兴局", OrgKind.BUREAU, "龙华区"),
    "agency1": ("海口市教育局", OrgKind.AGENCY, "龙华区"),
    "agency2": ("海口市卫生健康委员会", OrgKind.AGENCY, "美兰区"),
    "fair": ("海口市爱心扶贫集市办公室", OrgKind.FAIR_ORGANIZER, "秀英区"),
    "retailer": ("椰城惠民超市", OrgKind.RETAILER, "琼山区"),
}


def _credit_code(seed: int) -> str:
    from .credit_code import check_character

    body = f"9346010{seed:010d}"
    return body + check_character(body)


def households_csv(count: int = 480, seed: int = 2020) -> str:
    """A households import file for the demo villages, deterministic for a seed."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "household_code",
            "head_name",
            "members",
            "district",
            "town",
            "village",
            "status",
            "risk_light",
            "registered_year",
        ]
    )
    villages = [(d, t, v) for d, towns in PLACES.items() for t, vs in towns.items() for v in vs]
    poor = [p for p in villages if p[2] in POOR_VILLAGES]
    for n in range(1, count + 1):
        district, town, village = rng.choice(poor if rng.random() < 0.85 else villages)
        status = rng.choices(
            ["alleviated", "poor", "monitored", "edge", "general"], [70, 8, 10, 8, 4]
        )[0]
        light = rng.choices(["green", "yellow", "red"], [85, 11, 4])[0]
        writer.writerow(
            [
                f"460100{n:06d}",
                rng.choice(SURNAMES) + rng.choice(GIVEN),
                rng.randint(1, 7),
                district,
                town,
                village,
                status,
                light,
                rng.choice(range(2014, 2020)),
            ]
        )
    return out.getvalue()


def vendors_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "vendor_code",
            "name",
            "kind",
            "district",
            "town",
            "village",
            "credit_code",
            "contact_phone",
        ]
    )
    for n, row in enumerate(VENDORS, start=1):
        code, name, kind, district, town, village, _credit, phone = row
        writer.writerow([code, name, kind, district, town, village, _credit_code(n), phone])
    return out.getvalue()


def _load_kernel() -> bool:
    from .accounts.services import hash_password
    from .bureau.imports import HouseholdsImport
    from .orgs.imports import VendorsImport

    if db.session.scalar(select(User.id).where(User.email == DEMO_USERS[0][0])):
        return False
    run_import(HouseholdsImport("demo"), households_csv().encode())
    run_import(VendorsImport("demo"), vendors_csv().encode())
    with unit_of_work():
        for village in db.session.scalars(select(Village)):
            village.is_poor = village.name in POOR_VILLAGES
        orgs = {o.code: o for o in db.session.scalars(select(Organization))}
        districts = {d.name: d.id for d in db.session.scalars(select(District))}
        for n, (key, (name, kind, district)) in enumerate(OTHER_ORGS.items(), start=50):
            org = Organization(
                name=name,
                kind=kind,
                district_id=districts.get(district),
                status=OrgStatus.VERIFIED,
                credit_code=_credit_code(n),
                verified_at=utcnow(),
            )
            db.session.add(org)
            orgs[key] = org
        db.session.flush()
        password = hash_password(DEMO_PASSWORD)
        for email, name, _label, org_key, role in DEMO_USERS:
            user = User(email=email, name=name, password_hash=password)
            db.session.add(user)
            if org_key:
                db.session.add(Membership(user=user, org=orgs[org_key], role=role))
        # a pending application, so the bureau's review queue is not empty
        pending = Organization(
            name="海口龙泉农产品专业合作社",
            kind=OrgKind.COOPERATIVE,
            status=OrgStatus.PENDING,
            credit_code=_credit_code(70),
            contact_name="冯社长",
            contact_phone="13907560070",
            description="龙泉镇翰香村的农产品合作社，申请入驻。",
        )
        db.session.add(pending)
    return True


KERNEL_STEPS: list[Callable[[], bool]] = [_load_kernel]


def load_demo() -> bool:
    """Run every demo step the app registered; True when any step added data."""
    steps = registries.demo_steps.get() or KERNEL_STEPS
    return any([step() for step in steps])
