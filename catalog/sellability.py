"""The one rule every channel asks before selling: is this product sellable on this day
(certified for that day, listed, its vendor verified), in SQL and in words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, exists, select

from marketplace.clock import local_today
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.models import Organization, OrgStatus

from .models import Certification, CertStatus, Product, ProductStatus


class NotCertified(DomainError):
    """The product may not be sold on that day (not certified, expired, suspended,
    withdrawn, or its vendor is not verified)."""


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


def sellable_ids(product_ids: Iterable[int], day: date) -> set[int]:
    """Which of ``product_ids`` are sellable on ``day`` (one query)."""
    ids = list(set(product_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Product.id).where(Product.id.in_(ids), sellable_clause(day)))
    )


def today() -> date:
    """The business day the public pages, reviews and sellability checks use: the local
    date in the configured zone."""
    return local_today()
