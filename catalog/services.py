"""Catalog use cases: products, certification (认定), benefit links, and the one rule
every channel asks before selling: is this product sellable on this day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace import audit
from marketplace.authz import can
from marketplace.clock import local_today
from marketplace.errors import DomainError, Forbidden, IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.models import (
    District,
    Household,
    Organization,
    OrgStatus,
    Town,
    User,
    Village,
    utcnow,
)
from marketplace.publication import Aggregate, households_reached
from marketplace.unit_of_work import unit_of_work

from . import files
from .models import (
    ALWAYS,
    MAX_APPLICATION_HOUSEHOLDS,
    BenefitLink,
    BenefitMode,
    Category,
    Certification,
    CertificationHousehold,
    CertStatus,
    PriceTier,
    Product,
    ProductImage,
    ProductStatus,
)

EXPIRY_WINDOWS = (7, 30, 90)  # reminder bands, days


class NotCertified(DomainError):
    """The product may not be sold on that day (not certified, expired, suspended,
    withdrawn, or its vendor is not verified)."""


def _require(actor: User, action: str, org: Organization | None) -> None:
    if not can(actor, action, org):
        raise Forbidden(_("您没有权限执行此操作。"))


# ---------------------------------------------------------------- sellability


def covering_certification(day: date):
    """SQL: an approved certification of the outer Product covers ``day`` (inclusive)."""
    return exists().where(
        Certification.product_id == Product.id,
        Certification.status == CertStatus.APPROVED,
        Certification.certified_on <= day,
        Certification.valid_until >= day,
    )


def sellable_clause(day: date):
    """SQL condition on Product: sellable on ``day``. The single definition of the rule:
    certified with ``day`` inside the validity window (both ends inclusive), not
    suspended or revoked, listed by its vendor, and the vendor verified."""
    return and_(
        Product.status == ProductStatus.ACTIVE,
        covering_certification(day),
        exists().where(
            Organization.id == Product.vendor_id, Organization.status == OrgStatus.VERIFIED
        ),
    )


def is_sellable(product: Product | int, day: date) -> bool:
    """Every channel (cart, procurement, fair, counter) asks this before selling."""
    product_id = product if isinstance(product, int) else product.id
    return bool(
        db.session.scalar(select(exists().where(Product.id == product_id, sellable_clause(day))))
    )


def unsellable_reason(product: Product, day: date) -> str | None:
    """Why ``product`` cannot be sold on ``day``, in words for the user; None if it can."""
    if is_sellable(product, day):
        return None
    if product.status != ProductStatus.ACTIVE:
        return _("该产品已下架")
    if product.vendor.status != OrgStatus.VERIFIED:
        return _("该产品的销售主体尚未通过审核")
    statuses = {c.status for c in product.certifications}
    if CertStatus.SUSPENDED in statuses:
        return _("该产品的扶贫产品认定已被暂停")
    approved = [c for c in product.certifications if c.status == CertStatus.APPROVED]
    if any(c.valid_until < day for c in approved):
        return _("该产品的扶贫产品认定已过期")
    if any(c.certified_on > day for c in approved):
        return _("该产品的扶贫产品认定尚未生效")
    return _("该产品尚未通过扶贫产品认定")


def ensure_sellable(product: Product, day: date) -> None:
    """Raise ``NotCertified`` unless ``product`` is sellable on ``day``."""
    reason = unsellable_reason(product, day)
    if reason is not None:
        raise NotCertified(_("%(name)s 不能销售：%(reason)s", name=product.name, reason=reason))


def current_certification(product: Product, day: date) -> Certification | None:
    return next((c for c in product.certifications if c.covers(day)), None)


# ---------------------------------------------------------------- products


@dataclass
class ProductData:
    name: str
    category_id: int
    unit: str
    price: int  # fen
    description: str = ""
    specification: str = ""
    origin_village_id: int | None = None
    shelf_life: str = ""
    min_order_qty: int = 1
    status: str = ProductStatus.ACTIVE
    sku: str | None = None
    tiers: Sequence[tuple[int, int]] = ()  # (min_qty, unit price fen)


def validate_tiers(price: int, tiers: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Tiers sorted by quantity; quantities distinct and >= 2; each unit price no higher
    than the retail price or the tier before it (non-increasing)."""
    ordered = sorted(tiers)
    previous_qty, previous_price = 1, price
    for min_qty, unit_price in ordered:
        if min_qty < 2:
            raise ValidationError(
                _("批量价的起订数量必须至少为 2"), {"tiers": _("起订数量至少为 2")}
            )
        if min_qty == previous_qty:
            raise ValidationError(_("批量价的数量不能重复"), {"tiers": _("数量不能重复")})
        if unit_price > previous_price:
            message = _("批量价必须随数量增加而不升高（%(q)d 件起的单价高于上一档）", q=min_qty)
            raise ValidationError(message, {"tiers": message})
        previous_qty, previous_price = min_qty, unit_price
    return ordered


def vendor_products(actor: User, org: Organization, q: str = "", status: str = "") -> Select:
    _require(actor, "products.manage", org)
    stmt = select(Product).where(Product.vendor_id == org.id)
    if q:
        stmt = stmt.where(or_(Product.name.contains(q), Product.sku.contains(q)))
    if status in set(ProductStatus):
        stmt = stmt.where(Product.status == status)
    return stmt.order_by(Product.updated_at.desc(), Product.id.desc())


def get_vendor_product(actor: User, org: Organization, product_id: int) -> Product:
    """The vendor's own product; another vendor's id is ``NotFound`` (404)."""
    _require(actor, "products.manage", org)
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.vendor_id == org.id)
    )
    if product is None:
        raise NotFound()
    return product


def _new_sku(org: Organization) -> str:
    prefix = (org.code or f"ORG{org.id}")[:20]
    count = db.session.scalar(select(func.count(Product.id)).where(Product.vendor_id == org.id))
    n = (count or 0) + 1
    while True:
        sku = f"{prefix}-{n:04d}"
        if not db.session.scalar(select(Product.id).where(Product.sku == sku)):
            return sku
        n += 1


def _replace_tiers(product: Product, tiers: list[tuple[int, int]]) -> None:
    """Make ``product.tiers`` equal ``tiers`` in place: a kept quantity keeps its row and
    takes the new price. Assigning a fresh list would flush the new rows before deleting
    the old ones, and a quantity posted back unchanged breaks (product_id, min_qty)."""
    wanted = dict(tiers)
    for tier in list(product.tiers):
        if tier.min_qty in wanted:
            tier.unit_price = wanted.pop(tier.min_qty)
        else:
            product.tiers.remove(tier)
    product.tiers.extend(PriceTier(min_qty=q, unit_price=p) for q, p in wanted.items())
    product.tiers.sort(key=lambda tier: tier.min_qty)


def save_product(
    actor: User, org: Organization, data: ProductData, product_id: int | None = None
) -> Product:
    """Create (``product_id`` None) or edit one of the vendor's own products."""
    _require(actor, "products.manage", org)
    if data.price <= 0:
        raise ValidationError(_("零售价必须大于零"), {"price": _("零售价必须大于零")})
    tiers = validate_tiers(data.price, data.tiers)
    if db.session.get(Category, data.category_id) is None:
        raise ValidationError(_("请选择品类"), {"category_id": _("请选择品类")})
    if data.status not in set(ProductStatus):
        raise ValidationError(_("状态无效"))
    with unit_of_work():
        if product_id is None:
            sku = (data.sku or "").strip() or _new_sku(org)
            if db.session.scalar(select(Product.id).where(Product.sku == sku)):
                raise ValidationError(_("SKU 已存在"), {"sku": _("SKU 已存在")})
            product = Product(vendor_id=org.id, sku=sku)
            db.session.add(product)
            action = "product.create"
        else:
            product = get_vendor_product(actor, org, product_id)
            action = "product.update"
        old_price = product.price
        for field in (
            "name",
            "category_id",
            "unit",
            "price",
            "description",
            "specification",
            "origin_village_id",
            "shelf_life",
            "min_order_qty",
            "status",
        ):
            setattr(product, field, getattr(data, field))
        _replace_tiers(product, tiers)
        db.session.flush()
        db.session.refresh(product, ["vendor", "origin_village"])
        product.refresh_search_text()
        changes = (
            {"price": {"old": old_price, "new": product.price}}
            if action.endswith("update") and old_price != product.price
            else None
        )
        audit.record(actor, action, product, org_id=org.id, changes=changes)
    bump("catalog")  # the public list shows it at once
    return product


# ---------------------------------------------------------------- benefit links


def links_in_force(product_id: int, day: date) -> list[BenefitLink]:
    """The links of the version with the latest valid_from on or before ``day``."""
    version = db.session.scalar(
        select(func.max(BenefitLink.valid_from)).where(
            BenefitLink.product_id == product_id, BenefitLink.valid_from <= day
        )
    )
    if version is None:
        return []
    return list(
        db.session.scalars(
            select(BenefitLink)
            .options(joinedload(BenefitLink.household))
            .where(BenefitLink.product_id == product_id, BenefitLink.valid_from == version)
            .order_by(BenefitLink.household_id)
        )
    )


def replace_link_version(
    product_id: int,
    valid_from: date | None,
    weights: Sequence[tuple[int, Decimal]],
    certification_id: int | None = None,
) -> None:
    """Replace the whole set of links of one (product, valid_from) version. Runs in the
    caller's transaction."""
    valid_from = valid_from or ALWAYS
    db.session.execute(
        delete(BenefitLink).where(
            BenefitLink.product_id == product_id, BenefitLink.valid_from == valid_from
        )
    )
    if weights:
        now = utcnow()
        db.session.execute(
            insert(BenefitLink),
            [
                {
                    "product_id": product_id,
                    "household_id": household_id,
                    "weight": weight,
                    "valid_from": valid_from,
                    "certification_id": certification_id,
                    "created_at": now,
                }
                for household_id, weight in weights
            ],
        )


# ---------------------------------------------------------------- certification


@dataclass
class CertificationApplication:
    benefit_mode: str
    households: Sequence[tuple[str, Decimal]]  # (household code, weight)
    expected_annual_value: int  # fen
    test_report_file: str | None = None  # stored name (see catalog.files)
    test_report_valid_until: date | None = None
    note: str = ""


def vendor_households(org: Organization, codes: Iterable[str]) -> dict[str, int]:
    """code -> id of those of ``codes`` a vendor may name in an application: households
    of the villages of its own town (its village's town), or of its district when it
    gives no town; none when it gives neither. Anything else is as unknown to the
    vendor as a code that does not exist."""
    town_id = org.town_id or (org.village.town_id if org.village is not None else None)
    if town_id is not None:
        scope = Village.town_id == town_id
    elif org.district_id is not None:
        scope = Village.town_id.in_(select(Town.id).where(Town.district_id == org.district_id))
    else:
        return {}
    codes = list(codes)
    if not codes:
        return {}
    return dict(
        db.session.execute(
            select(Household.code, Household.id)
            .join(Village, Village.id == Household.village_id)
            .where(Household.code.in_(codes), scope)
        ).all()
    )


def apply_for_certification(
    actor: User, org: Organization, product_id: int, application: CertificationApplication
) -> Certification:
    """The vendor applies for a product with its benefit mode and the households it
    links, entered by code: at most ``MAX_APPLICATION_HOUSEHOLDS``, all of its own town
    (``vendor_households``). A code that does not exist and one of another town get the
    same answer, so the form tells nobody which codes the register holds."""
    product = get_vendor_product(actor, org, product_id)
    errors: dict[str, str] = {}
    if application.benefit_mode not in set(BenefitMode):
        errors["benefit_mode"] = _("请选择带贫方式")
    if not application.households:
        errors["households"] = _("请至少填写一户受益农户")
    if len(application.households) > MAX_APPLICATION_HOUSEHOLDS:
        message = _("一次最多填写 %(n)d 户", n=MAX_APPLICATION_HOUSEHOLDS)
        raise ValidationError(message, {"households": message})
    codes = [code for code, _weight in application.households]
    if len(set(codes)) != len(codes):
        errors["households"] = _("户编码不能重复")
    if any(weight <= 0 for _code, weight in application.households):
        errors["households"] = _("权重必须是正数")
    if application.expected_annual_value < 0:
        errors["expected_annual_value"] = _("金额不能为负数")
    if application.test_report_file is None:
        errors["test_report"] = _("请上传检测报告（PDF）")
    if application.test_report_valid_until is None:
        errors["test_report_valid_until"] = _("请填写检测报告有效期")
    found = vendor_households(org, codes)
    refused = [code for code in codes if code not in found]
    if refused and "households" not in errors:
        errors["households"] = _(
            "以下户编码无法使用：%(codes)s。只能填写本销售主体所在乡镇登记在册的建档立卡户，"
            "请核对编码。",
            codes="、".join(refused),
        )
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    with unit_of_work():
        if db.session.scalar(
            select(Certification.id).where(
                Certification.product_id == product.id,
                Certification.status == CertStatus.PENDING,
            )
        ):
            raise IllegalTransition(_("该产品已有待审核的认定申请"))
        cert = Certification(
            product_id=product.id,
            status=CertStatus.PENDING,
            benefit_mode=application.benefit_mode,
            expected_annual_value=application.expected_annual_value,
            note=application.note,
            test_report_file=application.test_report_file,
            test_report_valid_until=application.test_report_valid_until,
            applied_by_id=actor.id,
        )
        cert.households = [
            CertificationHousehold(household_id=found[code], weight=weight)
            for code, weight in application.households
        ]
        db.session.add(cert)
        db.session.flush()
        audit.record(
            actor,
            "certification.apply",
            cert,
            org_id=org.id,
            changes={"product": product.sku, "households": len(codes)},
        )
    return cert


def certification_queue(actor: User, bureau: Organization, status: str = "") -> Select:
    _require(actor, "certifications.review", bureau)
    stmt = select(Certification).options(
        joinedload(Certification.product).joinedload(Product.vendor),
        selectinload(Certification.households),
    )
    if status in set(CertStatus):
        stmt = stmt.where(Certification.status == status)
    return stmt.order_by(Certification.applied_at.desc(), Certification.id.desc())


def get_certification(actor: User, bureau: Organization, cert_id: int) -> Certification:
    _require(actor, "certifications.review", bureau)
    cert = db.session.get(Certification, cert_id)
    if cert is None:
        raise NotFound()
    return cert


def _transition(cert: Certification, allowed: set[str], new: str) -> str:
    if cert.status not in allowed:
        raise IllegalTransition(_("当前状态下不能执行此操作"))
    old, cert.status = cert.status, new
    cert.decided_at = utcnow()
    return old


def approve_certification(
    actor: User,
    bureau: Organization,
    cert_id: int,
    *,
    certificate_no: str,
    certified_on: date,
    valid_until: date,
) -> Certification:
    """Approve with certificate number and validity; the proposed households become
    the product's benefit-link version from ``certified_on``."""
    certificate_no = (certificate_no or "").strip()
    if not certificate_no:
        raise ValidationError(_("请填写证书编号"), {"certificate_no": _("请填写证书编号")})
    if valid_until < certified_on:
        message = _("有效期截止日不能早于认定日期")
        raise ValidationError(message, {"valid_until": message})
    with unit_of_work():
        cert = get_certification(actor, bureau, cert_id)
        if db.session.scalar(
            select(Certification.id).where(
                Certification.certificate_no == certificate_no, Certification.id != cert.id
            )
        ):
            message = _("证书编号已被使用")
            raise ValidationError(message, {"certificate_no": message})
        old = _transition(cert, {CertStatus.PENDING}, CertStatus.APPROVED)
        cert.certificate_no = certificate_no
        cert.certified_on, cert.valid_until = certified_on, valid_until
        cert.decided_by_id = actor.id
        cert.reason = None
        replace_link_version(
            cert.product_id,
            certified_on,
            [(h.household_id, h.weight) for h in cert.households],
            certification_id=cert.id,
        )
        audit.record(
            actor,
            "certification.approve",
            cert,
            org_id=bureau.id,
            changes={
                "status": {"old": old, "new": cert.status},
                "certificate_no": certificate_no,
                "certified_on": certified_on.isoformat(),
                "valid_until": valid_until.isoformat(),
            },
        )
    bump("catalog")  # the public list shows it at once
    return cert


def _decide_with_reason(
    actor: User,
    bureau: Organization,
    cert_id: int,
    reason: str,
    allowed: set[str],
    new: str,
    action: str,
) -> Certification:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写理由"), {"reason": _("请填写理由")})
    with unit_of_work():
        cert = get_certification(actor, bureau, cert_id)
        old = _transition(cert, allowed, new)
        cert.reason = reason
        cert.decided_by_id = actor.id
        audit.record(
            actor,
            action,
            cert,
            org_id=bureau.id,
            reason=reason,
            changes={"status": {"old": old, "new": new}},
        )
    bump("catalog")  # the public list shows it at once
    return cert


def reject_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(
        actor,
        bureau,
        cert_id,
        reason,
        {CertStatus.PENDING},
        CertStatus.REJECTED,
        "certification.reject",
    )


def suspend_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(
        actor,
        bureau,
        cert_id,
        reason,
        {CertStatus.APPROVED},
        CertStatus.SUSPENDED,
        "certification.suspend",
    )


def reinstate_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(
        actor,
        bureau,
        cert_id,
        reason,
        {CertStatus.SUSPENDED},
        CertStatus.APPROVED,
        "certification.reinstate",
    )


def revoke_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(
        actor,
        bureau,
        cert_id,
        reason,
        {CertStatus.APPROVED, CertStatus.SUSPENDED},
        CertStatus.REVOKED,
        "certification.revoke",
    )


@dataclass
class Expiry:
    what: str  # "certificate" or "test_report"
    certification: Certification
    expires_on: date
    days_left: int

    @property
    def band(self) -> int:
        """The reminder band: 7, 30 or 90 days."""
        return next(w for w in EXPIRY_WINDOWS if self.days_left <= w)


def expiring(today: date, within_days: int = 90, vendor_id: int | None = None) -> list[Expiry]:
    """Approved certificates and their test reports that expire within ``within_days``
    days of ``today`` (and have not expired yet), soonest first."""
    horizon = today + timedelta(days=within_days)
    stmt = (
        select(Certification)
        .join(Certification.product)
        .options(joinedload(Certification.product).joinedload(Product.vendor))
        .where(
            Certification.status == CertStatus.APPROVED,
            or_(
                Certification.valid_until.between(today, horizon),
                Certification.test_report_valid_until.between(today, horizon),
            ),
        )
    )
    if vendor_id is not None:
        stmt = stmt.where(Product.vendor_id == vendor_id)
    found: list[Expiry] = []
    for cert in db.session.scalars(stmt):
        if today <= cert.valid_until <= horizon:
            found.append(
                Expiry("certificate", cert, cert.valid_until, (cert.valid_until - today).days)
            )
        report = cert.test_report_valid_until
        if report is not None and today <= report <= horizon:
            found.append(Expiry("test_report", cert, report, (report - today).days))
    return sorted(found, key=lambda e: (e.expires_on, e.certification.id, e.what))


def recent_notices(today: date, days: int = 30) -> list[Certification]:
    """公示: products certified in the last ``days`` days, newest first."""
    since = today - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Certification)
            .options(joinedload(Certification.product).joinedload(Product.vendor))
            .where(
                Certification.status.in_([CertStatus.APPROVED, CertStatus.SUSPENDED]),
                Certification.certified_on.between(since, today),
            )
            .order_by(Certification.certified_on.desc(), Certification.id.desc())
            .limit(200)
        )
    )


# ---------------------------------------------------------------- public catalog

PUBLIC_SORTS = ("new", "price_asc", "price_desc")


@dataclass
class CatalogFilters:
    q: str = ""
    category_id: int | None = None
    district_id: int | None = None
    village_id: int | None = None
    sort: str = "new"


def _public_criteria(day: date, filters: CatalogFilters) -> tuple[list, tuple]:
    """The WHERE conditions and ORDER BY of the public list."""
    where = [sellable_clause(day)]
    if filters.q:
        where.append(Product.search_text.contains(filters.q.strip().lower(), autoescape=True))
    if filters.category_id:
        where.append(Product.category_id == filters.category_id)
    if filters.village_id:
        where.append(Product.origin_village_id == filters.village_id)
    elif filters.district_id:
        where.append(
            Product.origin_village_id.in_(
                select(Village.id).join(Village.town).where(Town.district_id == filters.district_id)
            )
        )
    order = {
        "price_asc": (Product.price.asc(), Product.id.asc()),
        "price_desc": (Product.price.desc(), Product.id.desc()),
    }.get(filters.sort, (Product.featured.desc(), Product.created_at.desc(), Product.id.desc()))
    return where, order


def _card_options():
    """What a product card shows: vendor, origin village and the photos."""
    return (
        joinedload(Product.vendor),
        joinedload(Product.origin_village),
        selectinload(Product.images),
    )


def public_products(day: date, filters: CatalogFilters) -> Select:
    """Sellable products for the public list, filtered, searched and sorted."""
    where, order = _public_criteria(day, filters)
    return select(Product).options(*_card_options()).where(*where).order_by(*order)


@dataclass
class PublicPage:
    """A page of the public list. It carries no total: counting every sellable product
    on each request would cost more than the page itself, so the pager only knows
    whether a next page exists."""

    items: list[Product]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def public_page(day: date, filters: CatalogFilters, page: int, per_page: int) -> PublicPage:
    """One page of ``public_products`` in two narrow steps: the ids of the page (one more
    than the page holds, to know whether another follows), then just those products with
    what their cards show. A page past the end is empty, not an error."""
    where, order = _public_criteria(day, filters)
    ids = list(
        db.session.scalars(
            select(Product.id)
            .where(*where)
            .order_by(*order)
            .limit(per_page + 1)
            .offset((page - 1) * per_page)
        )
    )
    has_next, ids = len(ids) > per_page, ids[:per_page]
    loaded = {}
    if ids:
        loaded = {
            p.id: p
            for p in db.session.scalars(
                select(Product).options(*_card_options()).where(Product.id.in_(ids))
            )
        }
    return PublicPage(
        items=[loaded[i] for i in ids], page=page, per_page=per_page, has_next=has_next
    )


def get_public_product(product_id: int, day: date) -> Product:
    """A product page: sellable products only; anything else is ``NotFound``."""
    product = db.session.scalar(
        select(Product)
        .options(
            joinedload(Product.vendor),
            joinedload(Product.category),
            joinedload(Product.origin_village).joinedload(Village.town).joinedload(Town.district),
            selectinload(Product.images),
            selectinload(Product.tiers),
            selectinload(Product.certifications),
        )
        .where(Product.id == product_id, sellable_clause(day))
    )
    if product is None:
        raise NotFound()
    return product


def product_impact(product_id: int, day: date) -> Aggregate:
    """Whom the product's links in force help, as the public may see it: how many
    registered households in how many villages, with no count below ``MIN_GROUP``."""
    return households_reached(link.household.village_id for link in links_in_force(product_id, day))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


SEED_CATEGORIES = [
    # the "6+3" signature industries first
    ("荔枝", True),
    ("莲雾", True),
    ("鸡", True),
    ("花卉", True),
    ("蜂蜜", True),
    ("虾", True),
    ("南药", True),
    ("热带水果", True),
    ("粮油", False),
    ("蔬菜", False),
    ("茶叶", False),
    ("水产干货", False),
    ("手工艺品", False),
    ("其他", False),
]


def seed_categories() -> int:
    """Create the standard categories that are missing; returns how many were added."""
    with unit_of_work():
        existing = set(db.session.scalars(select(Category.name)))
        added = 0
        for position, (name, signature) in enumerate(SEED_CATEGORIES):
            if name not in existing:
                db.session.add(Category(name=name, signature=signature, position=position))
                added += 1
    return added


# ---------------------------------------------------------------- review and public pages


def today() -> date:
    """The business day the public pages, reviews and sellability checks use: the local
    date in the configured zone."""
    return local_today()


@dataclass
class ProposedShare:
    household: Household
    weight: Decimal
    percent: Decimal  # of the application's total weight, 2 decimals


def proposed_shares(cert: Certification) -> list[ProposedShare]:
    """Each proposed household with its weight and its share of the total weight, for the
    bureau's review (bureau eyes only: it carries the household)."""
    total = sum((h.weight for h in cert.households), Decimal(0))
    return [
        ProposedShare(
            household=h.household,
            weight=h.weight,
            percent=(h.weight * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0),
        )
        for h in cert.households
    ]


def public_vendor(vendor_id: int) -> Organization:
    """A verified seller for its public page; anything else is ``NotFound``."""
    vendor = db.session.get(Organization, vendor_id)
    if vendor is None or not vendor.is_verified or not vendor.is_seller:
        raise NotFound()
    return vendor


def vendor_public_products(vendor_id: int, day: date) -> Select:
    """The vendor's sellable products, featured first, then newest."""
    return public_products(day, CatalogFilters()).where(Product.vendor_id == vendor_id)


def featured_products(day: date, limit: int = 8) -> list[Product]:
    """For the home page: sellable products, featured first, then newest."""
    return list(db.session.scalars(public_products(day, CatalogFilters()).limit(limit)))


def sellable_ids(product_ids: Iterable[int], day: date) -> set[int]:
    """Which of ``product_ids`` are sellable on ``day`` (one query)."""
    ids = list(set(product_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Product.id).where(Product.id.in_(ids), sellable_clause(day)))
    )


@dataclass
class Places:
    districts: list[District]
    district_id: int | None  # chosen, or implied by the chosen village
    villages: list[Village]  # of that district; empty when none is chosen


def filter_places(district_id: int | None, village_id: int | None) -> Places:
    """The districts, and the villages of the chosen one, for the public list's filters.
    Reads only the small geography tables, so the list never scans products for them."""
    if village_id and not district_id:
        district_id = db.session.scalar(
            select(Town.district_id).join(Village.town).where(Village.id == village_id)
        )
    villages = []
    if district_id:
        villages = list(
            db.session.scalars(
                select(Village)
                .join(Village.town)
                .where(Town.district_id == district_id)
                .order_by(Town.name, Village.name)
            )
        )
    districts = list(db.session.scalars(select(District).order_by(District.name)))
    return Places(districts=districts, district_id=district_id, villages=villages)


# Which decisions each certification status allows (the services above enforce the same).
DECISIONS: dict[str, frozenset[str]] = {
    "approve": frozenset({CertStatus.PENDING}),
    "reject": frozenset({CertStatus.PENDING}),
    "suspend": frozenset({CertStatus.APPROVED}),
    "reinstate": frozenset({CertStatus.SUSPENDED}),
    "revoke": frozenset({CertStatus.APPROVED, CertStatus.SUSPENDED}),
}


def allowed_decisions(cert: Certification) -> set[str]:
    """The bureau decisions the certification's status allows now."""
    return {name for name, statuses in DECISIONS.items() if cert.status in statuses}


# ---------------------------------------------------------------- vendor pages

MAX_IMAGES = 10  # photos per product


def add_product_image(actor: User, org: Organization, product_id: int, stream) -> ProductImage:
    """Verify and store an uploaded photo of one of the vendor's own products (see
    ``files.store_image``) and append it to the product's photos."""
    product = get_vendor_product(actor, org, product_id)
    if len(product.images) >= MAX_IMAGES:
        message = _("每个产品最多 %(n)d 张图片", n=MAX_IMAGES)
        raise ValidationError(message, {"file": message})
    stored = files.store_image(stream)
    try:
        with unit_of_work():
            image = ProductImage(
                product_id=product.id,
                filename=stored.filename,
                thumb_filename=stored.thumb_filename,
                width=stored.width,
                height=stored.height,
                position=max((i.position for i in product.images), default=-1) + 1,
            )
            db.session.add(image)
            db.session.flush()
            audit.record(
                actor, "product.image_add", product, org_id=org.id, changes={"image": image.id}
            )
    except BaseException:
        files.remove("images", stored.filename, stored.thumb_filename)
        raise
    bump("catalog")  # the public list shows it at once
    return image


def delete_product_image(actor: User, org: Organization, product_id: int, image_id: int) -> None:
    """Remove a photo of the vendor's own product, and its files once that is committed."""
    with unit_of_work():
        product = get_vendor_product(actor, org, product_id)
        image = db.session.scalar(
            select(ProductImage).where(
                ProductImage.id == image_id, ProductImage.product_id == product.id
            )
        )
        if image is None:
            raise NotFound()
        names = (image.filename, image.thumb_filename)
        db.session.delete(image)
        audit.record(
            actor, "product.image_delete", product, org_id=org.id, changes={"image": image_id}
        )
    files.remove("images", *names)
    bump("catalog")


def submit_certification(
    actor: User,
    org: Organization,
    product_id: int,
    application: CertificationApplication,
    report_stream=None,
) -> Certification:
    """``apply_for_certification`` with the uploaded test report: the PDF is stored only
    for the vendor's own product and removed again if the application is refused."""
    get_vendor_product(actor, org, product_id)
    report_error = None
    if report_stream is not None:
        try:
            application.test_report_file = files.store_report(report_stream)
        except ValidationError as exc:
            report_error = exc.message
    try:
        return apply_for_certification(actor, org, product_id, application)
    except BaseException as exc:
        if application.test_report_file:
            files.remove("reports", application.test_report_file)
            application.test_report_file = None
        if report_error and isinstance(exc, ValidationError):
            exc.errors["test_report"] = report_error
        raise


def report_path(actor: User, org: Organization | None, name: str):
    """The stored test report ``name`` and its content type, for bureau reviewers and for
    the vendor whose application carries it; ``NotFound`` for anyone else."""
    located = files.path_for("reports", name)
    if located is None:
        raise NotFound()
    if can(actor, "certifications.review", org):
        return located
    if can(actor, "products.manage", org) and db.session.scalar(
        select(Certification.id)
        .join(Certification.product)
        .where(Certification.test_report_file == name, Product.vendor_id == org.id)
        .limit(1)
    ):
        return located
    raise NotFound()


@dataclass
class CertState:
    """What a vendor's product list shows about certification on a day."""

    state: str  # certified / pending / expired / suspended / revoked / rejected / upcoming / none
    valid_until: date | None = None
    renewal_pending: bool = False  # a new application waits while one is in force


def certification_states(product_ids: Iterable[int], day: date) -> dict[int, CertState]:
    """The certification state of each product on ``day`` (one query)."""
    ids = list(set(product_ids))
    by_product: dict[int, list[Certification]] = {i: [] for i in ids}
    if ids:
        for cert in db.session.scalars(
            select(Certification)
            .where(Certification.product_id.in_(ids))
            .order_by(Certification.id.desc())
        ):
            by_product[cert.product_id].append(cert)
    return {pid: _cert_state(certs, day) for pid, certs in by_product.items()}


def _cert_state(certs: list[Certification], day: date) -> CertState:
    pending = any(c.status == CertStatus.PENDING for c in certs)
    covering = [c for c in certs if c.covers(day)]
    if covering:
        until = max(c.valid_until for c in covering)
        return CertState("certified", until, renewal_pending=pending)
    if pending:
        return CertState("pending")
    if not certs:
        return CertState("none")
    latest = certs[0]  # newest decision first
    if latest.status == CertStatus.APPROVED:
        if latest.certified_on > day:
            return CertState("upcoming", latest.valid_until)
        return CertState("expired", latest.valid_until)
    return CertState(latest.status, latest.valid_until)


def product_counts(actor: User, org: Organization) -> dict[str, int]:
    """The vendor's products by status (every status present, zero when none)."""
    _require(actor, "products.manage", org)
    counts = {status.value: 0 for status in ProductStatus}
    for status, n in db.session.execute(
        select(Product.status, func.count(Product.id))
        .where(Product.vendor_id == org.id)
        .group_by(Product.status)
    ):
        counts[status] = n
    return counts


def certified_count(actor: User, org: Organization, day: date) -> int:
    """How many of the vendor's products are certified on ``day``."""
    _require(actor, "products.manage", org)
    return db.session.scalar(
        select(func.count(Product.id)).where(
            Product.vendor_id == org.id, covering_certification(day)
        )
    )


def pending_count(actor: User, org: Organization) -> int:
    _require(actor, "products.manage", org)
    return db.session.scalar(
        select(func.count(Certification.id))
        .join(Certification.product)
        .where(Product.vendor_id == org.id, Certification.status == CertStatus.PENDING)
    )


def village_options() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every village grouped under "district town", for the origin select."""
    rows = db.session.execute(
        select(District.name, Town.name, Village.id, Village.name)
        .join(Town, Town.district_id == District.id)
        .join(Village, Village.town_id == Town.id)
        .order_by(District.name, Town.name, Village.name)
    ).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for district, town, village_id, village in rows:
        groups.setdefault(f"{district} {town}", []).append((village_id, village))
    return list(groups.items())
