"""Test reports held for a vendor between two tries of a certification application: a PDF
sent with an application that came back with an error is kept under a random token
(a hidden field of the form), so the vendor need not choose it again; choosing another
file replaces it. The application that uses it takes the file over (and deletes the row,
``certification.apply_for_certification``); one nobody used is unusable after a day,
and the next report held (by any vendor) sweeps it away with its file."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import PurePosixPath

from sqlalchemy import delete, select

from marketplace.authz import require
from marketplace.extensions import db
from marketplace.models import Organization, User, utcnow
from marketplace.unit_of_work import unit_of_work

from . import files
from .models import HeldReport

HOLD_FOR = timedelta(hours=24)
MAX_HELD_PER_ORG = 20  # reports a vendor may have held at once: the oldest go first


def _display_name(filename: str) -> str:
    """The upload's own name without any folder, for showing back only (never a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[-255:] or "report.pdf"


def held_report(org: Organization, token: str) -> HeldReport | None:
    """The vendor's held report named by ``token``, while it is kept; else None (another
    vendor's token is as unknown as a made-up one)."""
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(HeldReport).where(
            HeldReport.token == token,
            HeldReport.org_id == org.id,
            HeldReport.created_at >= utcnow() - HOLD_FOR,
        )
    )


def hold_report(actor: User, org: Organization, upload, token: str = "") -> HeldReport | None:
    """Keep the uploaded PDF (checked as ``files.store_report`` does; a
    ``ValidationError`` if it is not one) for the vendor, replacing the one ``token``
    names; without a file, the report ``token`` names, if any."""
    require(actor, "products.manage", org)
    if upload is None or not getattr(upload, "filename", None):
        return held_report(org, token)
    stored = files.store_report(upload.stream)
    gone: list[str] = []
    try:
        held = _replace(org, token, stored, _display_name(upload.filename), gone)
    except BaseException:
        files.remove("reports", stored)
        raise
    files.remove("reports", *gone)  # only once the rows are gone for good
    return held


def _replace(org: Organization, token: str, stored: str, filename: str, gone: list[str]):
    with unit_of_work():
        previous = held_report(org, token)
        if previous is not None:
            gone.append(previous.stored_name)
            db.session.delete(previous)
        gone += _sweep(org)
        held = HeldReport(
            token=secrets.token_urlsafe(32),
            org_id=org.id,
            stored_name=stored,
            filename=filename,
        )
        db.session.add(held)
    return held


def _sweep(org: Organization) -> list[str]:
    """Delete the held reports past their day, and the vendor's beyond the newest
    ``MAX_HELD_PER_ORG - 1``; the stored names to remove after the commit."""
    expired = HeldReport.created_at < utcnow() - HOLD_FOR
    names = list(db.session.scalars(select(HeldReport.stored_name).where(expired)))
    db.session.execute(delete(HeldReport).where(expired))
    extra = list(
        db.session.execute(
            select(HeldReport.id, HeldReport.stored_name)
            .where(HeldReport.org_id == org.id)
            .order_by(HeldReport.created_at.desc(), HeldReport.id.desc())
            .offset(MAX_HELD_PER_ORG - 1)
        ).all()
    )
    if extra:
        db.session.execute(delete(HeldReport).where(HeldReport.id.in_([i for i, _n in extra])))
        names += [name for _i, name in extra]
    return names
