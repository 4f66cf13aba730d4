"""The public catalog: sellable products, filtered, searched, sorted and paged; a
product's page and whom it helps; a seller's page; the home page's featured products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.fragments import cached
from marketplace.models import District, Organization, OrgStatus, Town, Village
from marketplace.publication import Aggregate, households_reached

from .links import villages_in_force
from .models import Certification, CertStatus, Product, ProductStatus
from .priority import priority_clause
from .sellability import sellable_clause

PUBLIC_SORTS = ("new", "price_asc", "price_desc")
CATALOG_AREA = "catalog"  # marketplace.fragments: what products, certificates or sellers change


@dataclass
class CatalogFilters:
    q: str = ""
    category_id: int | None = None
    district_id: int | None = None
    village_id: int | None = None
    sort: str = "new"
    priority: bool = False  # only 优先帮扶 products (catalog/priority.py)


def _public_criteria(day: date, filters: CatalogFilters) -> tuple[list, tuple]:
    """The WHERE conditions and ORDER BY of the public list."""
    where = [sellable_clause(day)]
    if filters.priority:
        where.append(priority_clause(day))
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


# The first pages are read straight from the database (an index walk that stops after
# the page, cheaper than ordering the whole catalogue); a deeper page is sliced from the
# query's ordered ids, cached with the list for a minute (dropped with it when a product,
# certification or seller changes), so page 400 costs what page 1 does instead of making
# the database walk and test 8,000 rows it then skips. A listing longer than
# ``LISTED_MAX`` keeps its first ``LISTED_MAX`` ids; a page beyond them is read with
# OFFSET, as before.
DIRECT_PAGES = 3
LISTED_MAX = 20_000


def _filters_key(day: date, filters: CatalogFilters) -> str:
    return (
        f"ids:{day.isoformat()}:{filters.sort}:{filters.category_id or ''}:"
        f"{filters.district_id or ''}:{filters.village_id or ''}:{int(filters.priority)}:"
        f"{filters.q.strip().lower()}"
    )


def listed_ids(day: date, filters: CatalogFilters) -> list[int]:
    """The ids of the public list for ``filters`` in its order (at most ``LISTED_MAX``),
    cached with the list."""
    where, order = _public_criteria(day, filters)
    return cached(
        CATALOG_AREA,
        _filters_key(day, filters),
        lambda: list(
            db.session.scalars(select(Product.id).where(*where).order_by(*order).limit(LISTED_MAX))
        ),
    )


def _page_ids(day: date, filters: CatalogFilters, page: int, per_page: int) -> list[int]:
    """The ids of the page, and the first of the next page if there is one."""
    start = (page - 1) * per_page
    if page > DIRECT_PAGES:
        ids = listed_ids(day, filters)
        if start + per_page < len(ids) or len(ids) < LISTED_MAX:
            return ids[start : start + per_page + 1]
    where, order = _public_criteria(day, filters)
    return list(
        db.session.scalars(
            select(Product.id).where(*where).order_by(*order).limit(per_page + 1).offset(start)
        )
    )


def public_page(day: date, filters: CatalogFilters, page: int, per_page: int) -> PublicPage:
    """One page of ``public_products`` in two narrow steps: the ids of the page (one more
    than the page holds, to know whether another follows), then just those products with
    what their cards show. A page past the end is empty, not an error."""
    ids = _page_ids(day, filters, page, per_page)
    has_next, ids = len(ids) > per_page, ids[:per_page]
    return PublicPage(items=cards(ids), page=page, per_page=per_page, has_next=has_next)


def cards(ids: list[int]) -> list[Product]:
    """The products of ``ids``, in that order, with what their cards show."""
    if not ids:
        return []
    loaded = {
        p.id: p
        for p in db.session.scalars(
            select(Product).options(*_card_options()).where(Product.id.in_(ids))
        )
    }
    return [loaded[i] for i in ids if i in loaded]


def get_public_product(product_id: int, day: date, *, once_public: bool = False) -> Product:
    """A product page: sellable products only; anything else is ``NotFound``. With
    ``once_public``, also a product that was sold here once and is not now (its
    certification expired or suspended, withdrawn by its vendor), so links shared
    before still land on a page saying so; a draft, or one never certified, stays 404."""
    product = find_public_product(product_id, day, once_public=once_public)
    if product is None:
        raise NotFound()
    return product


def find_public_product(product_id: int, day: date, *, once_public: bool = False) -> Product | None:
    """``get_public_product``, with None for no such page."""
    condition = sellable_clause(day)
    if once_public:
        condition = and_(
            Product.status.in_([ProductStatus.ACTIVE, ProductStatus.ARCHIVED]),
            exists().where(
                Certification.product_id == Product.id,
                Certification.status.in_([CertStatus.APPROVED, CertStatus.SUSPENDED]),
                Certification.certified_on <= day,
            ),
            exists().where(
                Organization.id == Product.vendor_id, Organization.status == OrgStatus.VERIFIED
            ),
        )
    # one round trip: a product has a few photos, tiers and certifications
    return (
        db.session.execute(
            select(Product)
            .options(
                joinedload(Product.vendor),
                joinedload(Product.category),
                joinedload(Product.origin_village)
                .joinedload(Village.town)
                .joinedload(Town.district),
                joinedload(Product.images),
                joinedload(Product.tiers),
                joinedload(Product.certifications),
            )
            .where(Product.id == product_id, condition)
        )
        .unique()
        .scalar_one_or_none()
    )


def product_impact(product_id: int, day: date) -> Aggregate:
    """Whom the product's links in force help, as the public may see it: how many
    registered households in how many villages, with no count below ``MIN_GROUP``."""
    return households_reached(villages_in_force(product_id, day))


def public_vendor(vendor_id: int) -> Organization:
    """A verified seller for its public page; anything else is ``NotFound``."""
    vendor = db.session.get(
        Organization,
        vendor_id,
        options=[
            joinedload(Organization.district),
            joinedload(Organization.town),
            joinedload(Organization.village),
        ],
    )
    if vendor is None or not vendor.is_verified or not vendor.is_seller:
        raise NotFound()
    return vendor


def vendor_public_products(vendor_id: int, day: date) -> Select:
    """The vendor's sellable products, featured first, then newest."""
    return public_products(day, CatalogFilters()).where(Product.vendor_id == vendor_id)


def featured_products(day: date, limit: int = 8) -> list[Product]:
    """For the home page: sellable products, featured first, then newest."""
    return list(db.session.scalars(public_products(day, CatalogFilters()).limit(limit)))


def priority_products(day: date, limit: int = 4) -> list[Product]:
    """For the home page's 优先帮扶 row: sellable products featured as 优先帮扶."""
    return list(
        db.session.scalars(public_products(day, CatalogFilters(priority=True)).limit(limit))
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
