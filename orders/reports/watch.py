"""The at-risk watch (防返贫监测): red and yellow households with the income sales brought
them this year and last, those with none this year or falling first; for one household,
the certified products linked to it and the vendors who could link it.

Reads the ledger's attribution rows, the register and the catalogue; writes nothing.
Household names are personal data: bureau staff only (the views are ``personal_data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import joinedload

from catalog.links import current_versions, in_force_join
from catalog.models import BenefitLink, Certification, CertStatus, Product
from catalog.sellability import covering_certification, sellable_clause
from marketplace.extensions import db
from marketplace.models import (
    District,
    Household,
    Organization,
    RiskLight,
    Town,
    Village,
)
from marketplace.pagination import Page
from orders.ledger.models import Attribution

AT_RISK = (RiskLight.RED, RiskLight.YELLOW)
EXPORT_LIMIT = 50_000
CANDIDATE_LIMIT = 50  # vendors shown as able to link one household

# trends, in the order the watch lists them
NONE, FALLING, STEADY = "none", "falling", "steady"


@dataclass(frozen=True)
class WatchFilters:
    light: str | None = None  # red or yellow; None for both
    town_id: int | None = None

    @property
    def lights(self) -> tuple[str, ...]:
        return (self.light,) if self.light in AT_RISK else AT_RISK


@dataclass(frozen=True)
class Years:
    """This year up to today, last year whole, and last year up to the same day (so a
    trend compares like with like early in the year)."""

    today: date

    @property
    def this_start(self) -> date:
        return date(self.today.year, 1, 1)

    @property
    def last_start(self) -> date:
        return date(self.today.year - 1, 1, 1)

    @property
    def last_same_day(self) -> date:
        try:
            return self.today.replace(year=self.today.year - 1)
        except ValueError:  # 29 February
            return date(self.today.year - 1, 2, 28)


@dataclass
class WatchRow:
    id: int
    code: str
    head_name: str
    members: int
    light: str
    place: str
    this_year: int  # fen, to today
    last_year: int  # fen, whole year
    last_to_date: int  # fen, last year to the same day

    @property
    def trend(self) -> str:
        if self.this_year <= 0:
            return NONE
        if self.this_year < self.last_to_date:
            return FALLING
        return STEADY


def _income(years: Years, households) -> Select:
    """Per household of ``households`` (a select of ids): net attributed income (sales
    minus refunds) this year, last year, and last year to the same day."""
    a = Attribution
    this_year = a.sale_date >= years.this_start
    return (
        select(
            a.household_id,
            func.sum(case((this_year, a.amount), else_=0)).label("this_year"),
            func.sum(case((this_year, 0), else_=a.amount)).label("last_year"),
            func.sum(
                case((and_(~this_year, a.sale_date <= years.last_same_day), a.amount), else_=0)
            ).label("last_to_date"),
        )
        .where(
            a.household_id.in_(households),
            a.sale_date >= years.last_start,
            a.sale_date <= years.today,
        )
        .group_by(a.household_id)
        .subquery("income")
    )


def _watched(filters: WatchFilters):
    """The conditions on Household (joined to its village) of the watch."""
    where = [Household.risk_light.in_(filters.lights)]
    if filters.town_id:
        where.append(Village.town_id == filters.town_id)
    return where


def watch_query(filters: WatchFilters, today: date) -> Select:
    years = Years(today)
    ids = select(Household.id).join(Village, Village.id == Household.village_id)
    income = _income(years, ids.where(*_watched(filters)))
    this_year = func.coalesce(income.c.this_year, 0)
    last_to_date = func.coalesce(income.c.last_to_date, 0)
    rank = case((this_year <= 0, 0), (this_year < last_to_date, 1), else_=2)
    return (
        select(
            Household.id,
            Household.code,
            Household.head_name,
            Household.members,
            Household.risk_light,
            District.name,
            Town.name,
            Village.name,
            this_year,
            func.coalesce(income.c.last_year, 0),
            last_to_date,
        )
        .join(Village, Village.id == Household.village_id)
        .join(Town, Town.id == Village.town_id)
        .join(District, District.id == Town.district_id)
        .outerjoin(income, income.c.household_id == Household.id)
        .where(*_watched(filters))
        .order_by(
            rank,
            case((Household.risk_light == RiskLight.RED, 0), else_=1),
            this_year,
            Household.code,
        )
    )


def _row(r) -> WatchRow:
    id_, code, name, members, light, district, town, village, this, last, last_to = r
    return WatchRow(
        id_,
        code,
        name,
        int(members),
        light,
        f"{district}{town}{village}",
        int(this or 0),
        int(last or 0),
        int(last_to or 0),
    )


def watch_page(filters: WatchFilters, today: date, page: int, per_page: int) -> Page:
    """One page of the watch. The total counts the watched households alone (the
    register's index), not the income query."""
    total = db.session.scalar(
        select(func.count(Household.id))
        .join(Village, Village.id == Household.village_id)
        .where(*_watched(filters))
    )
    rows = db.session.execute(
        watch_query(filters, today).limit(per_page).offset((page - 1) * per_page)
    )
    return Page([_row(r) for r in rows], page, per_page, total or 0)


def watch_rows(filters: WatchFilters, today: date, limit: int = EXPORT_LIMIT) -> list[WatchRow]:
    return [_row(r) for r in db.session.execute(watch_query(filters, today).limit(limit))]


def watch_towns() -> list[tuple[int, str]]:
    """The towns for the filter, with their district: (id, "区 镇")."""
    return [
        (town_id, f"{district} {town}")
        for town_id, district, town in db.session.execute(
            select(Town.id, District.name, Town.name)
            .join(District, District.id == Town.district_id)
            .order_by(District.name, Town.name)
        )
    ]


# ---------------------------------------------------------------- one household


def household_income(household_id: int, today: date) -> WatchRow | None:
    """The watch's row of one household (None if it is not red or yellow)."""
    years = Years(today)
    income = _income(years, [household_id])
    row = db.session.execute(
        select(
            Household.id,
            Household.code,
            Household.head_name,
            Household.members,
            Household.risk_light,
            District.name,
            Town.name,
            Village.name,
            func.coalesce(income.c.this_year, 0),
            func.coalesce(income.c.last_year, 0),
            func.coalesce(income.c.last_to_date, 0),
        )
        .join(Village, Village.id == Household.village_id)
        .join(Town, Town.id == Village.town_id)
        .join(District, District.id == Town.district_id)
        .outerjoin(income, income.c.household_id == Household.id)
        .where(Household.id == household_id)
    ).first()
    return _row(row) if row else None


@dataclass
class LinkedProduct:
    product: Product
    certificate_no: str | None  # of the certification covering today; None: not certified
    this_year: int  # fen the product brought the household this year


def linked_products(household_id: int, today: date) -> list[LinkedProduct]:
    """The products whose benefit links in force today include the household, certified
    ones first, with what each brought it this year."""
    mine = select(BenefitLink.product_id).where(BenefitLink.household_id == household_id)
    current = current_versions(today, mine)
    certified = covering_certification(today)
    products = list(
        db.session.scalars(
            select(Product)
            .options(joinedload(Product.vendor), joinedload(Product.origin_village))
            .join(BenefitLink, BenefitLink.product_id == Product.id)
            .join(current, and_(*in_force_join(current)))
            .where(BenefitLink.household_id == household_id)
            .order_by(certified.desc(), Product.name, Product.id)
        ).unique()
    )
    if not products:
        return []
    ids = [p.id for p in products]
    certificates = dict(
        db.session.execute(
            select(Certification.product_id, Certification.certificate_no).where(
                Certification.product_id.in_(ids),
                Certification.status == CertStatus.APPROVED,
                Certification.certified_on <= today,
                Certification.valid_until >= today,
            )
        ).all()
    )
    amounts = dict(
        db.session.execute(
            select(Attribution.product_id, func.sum(Attribution.amount))
            .where(
                Attribution.household_id == household_id,
                Attribution.product_id.in_(ids),
                Attribution.sale_date >= date(today.year, 1, 1),
                Attribution.sale_date <= today,
            )
            .group_by(Attribution.product_id)
        ).all()
    )
    return [LinkedProduct(p, certificates.get(p.id), int(amounts.get(p.id) or 0)) for p in products]


@dataclass
class CandidateVendor:
    vendor: Organization
    same_village: bool  # a product from the household's own village (else its town)
    products: list[Product]


def candidate_vendors(household_id: int, today: date) -> list[CandidateVendor]:
    """Vendors who could link the household: those selling, today, certified products
    whose origin village is the household's village or another village of its town,
    and not already linking it through any of them. Own village first."""
    household = db.session.get(Household, household_id)
    if household is None:
        return []
    village = db.session.get(Village, household.village_id)
    linked = (
        select(BenefitLink.product_id)
        .join(
            current := current_versions(
                today,
                select(BenefitLink.product_id).where(BenefitLink.household_id == household_id),
            ),
            and_(*in_force_join(current)),
        )
        .where(BenefitLink.household_id == household_id)
    )
    town_villages = select(Village.id).where(Village.town_id == village.town_id)
    products = list(
        db.session.scalars(
            select(Product)
            .options(joinedload(Product.vendor), joinedload(Product.origin_village))
            .where(
                sellable_clause(today),
                Product.origin_village_id.in_(town_villages),
                Product.id.not_in(linked),
            )
            .order_by((Product.origin_village_id != village.id), Product.vendor_id, Product.name)
            .limit(CANDIDATE_LIMIT * 5)
        )
    )
    found: dict[int, CandidateVendor] = {}
    for product in products:
        same = product.origin_village_id == village.id
        entry = found.get(product.vendor_id)
        if entry is None:
            if len(found) >= CANDIDATE_LIMIT:
                continue
            entry = found[product.vendor_id] = CandidateVendor(product.vendor, same, [])
        entry.same_village = entry.same_village or same
        entry.products.append(product)
    return sorted(found.values(), key=lambda c: (not c.same_village, c.vendor.name))
