"""The households a vendor may name in a certification application, and the picker that
finds them. A vendor may name the registered households (建档立卡户) of the villages of
its own town (its village's town), or of its district when it gives no town; none when it
gives neither. The picker shows each one's code, village and the head's name masked
(王*华), never the whole name: the register is the bureau's personal data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select

from marketplace.authz import require
from marketplace.extensions import db
from marketplace.models import Household, Organization, Town, User, Village

PICK_LIMIT = 20  # households the picker shows at once: the search narrows the rest


def mask_name(name: str) -> str:
    """The first and last character kept, the middle starred: 王小华 -> 王*华,
    欧阳小华 -> 欧**华; a two-character name keeps its first: 王华 -> 王*."""
    name = (name or "").strip()
    if len(name) <= 2:
        return name[:1] + "*" if name else ""
    return name[0] + "*" * (len(name) - 2) + name[-1]


def household_scope(org: Organization) -> ColumnElement[bool] | None:
    """The villages whose households the vendor may name (a condition on ``Village``), or
    None when it may name none (it gives neither a town nor a district)."""
    town_id = org.town_id or (org.village.town_id if org.village is not None else None)
    if town_id is not None:
        return Village.town_id == town_id
    if org.district_id is not None:
        return Village.town_id.in_(select(Town.id).where(Town.district_id == org.district_id))
    return None


def vendor_households(org: Organization, codes: Iterable[str]) -> dict[str, int]:
    """code -> id of those of ``codes`` the vendor may name. Anything else is as unknown
    to the vendor as a code that does not exist."""
    scope = household_scope(org)
    codes = list(codes)
    if scope is None or not codes:
        return {}
    return dict(
        db.session.execute(
            select(Household.code, Household.id)
            .join(Village, Village.id == Household.village_id)
            .where(Household.code.in_(codes), scope)
        ).all()
    )


@dataclass(frozen=True)
class PickerEntry:
    code: str
    village: str
    masked_name: str

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "village": self.village, "name": self.masked_name}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_households(
    actor: User, org: Organization, q: str = "", limit: int = PICK_LIMIT
) -> tuple[list[PickerEntry], bool]:
    """The vendor's households matching ``q`` (part of the code, the village's name or
    the head's name), by village and code: at most ``limit`` of them, and whether more
    match."""
    require(actor, "products.manage", org)
    scope = household_scope(org)
    if scope is None:
        return [], False
    stmt = (
        select(Household.code, Village.name, Household.head_name)
        .join(Village, Village.id == Household.village_id)
        .where(scope)
    )
    q = (q or "").strip()[:50]
    if q:
        pattern = _like(q)
        stmt = stmt.where(
            or_(
                Household.code.ilike(pattern, escape="\\"),
                Village.name.like(pattern, escape="\\"),
                Household.head_name.like(pattern, escape="\\"),
            )
        )
    rows = db.session.execute(stmt.order_by(Village.name, Household.code).limit(limit + 1)).all()
    entries = [PickerEntry(code, village, mask_name(name)) for code, village, name in rows]
    return entries[:limit], len(entries) > limit


def add_picked(org: Organization, lines: str, picked: Iterable[str]) -> str:
    """The application's household lines with the picked codes added (weight 1) after
    those already there; a code already listed, or one the vendor may not name, is not
    added."""
    present = set()
    for line in (lines or "").splitlines():
        head = line.replace("，", ",").replace("\t", ",").split(",")[0].split()
        if head:
            present.add(head[0].strip())
    allowed = vendor_households(org, [c.strip() for c in picked if c.strip()])
    new = [code for code in dict.fromkeys(c.strip() for c in picked) if code in allowed]
    added = [f"{code},1" for code in new if code not in present]
    kept = (lines or "").rstrip()
    return "\n".join([kept, *added] if kept else added)
