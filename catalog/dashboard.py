"""What a vendor's product pages count and show: products by status, how many are
certified, applications waiting, and each product's certification state on a day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from marketplace.authz import require
from marketplace.extensions import db
from marketplace.models import Organization, User

from .models import Certification, CertStatus, Product, ProductStatus
from .sellability import covering_certification


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
    require(actor, "products.manage", org)
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
    require(actor, "products.manage", org)
    return db.session.scalar(
        select(func.count(Product.id)).where(
            Product.vendor_id == org.id, covering_certification(day)
        )
    )


def pending_count(actor: User, org: Organization) -> int:
    require(actor, "products.manage", org)
    return db.session.scalar(
        select(func.count(Certification.id))
        .join(Certification.product)
        .where(Product.vendor_id == org.id, Certification.status == CertStatus.PENDING)
    )
