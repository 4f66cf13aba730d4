"""`import vendors`: cooperatives and enterprises that sell, as verified organizations."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import credit_code as credit
from ..bulk import chunks
from ..extensions import db
from ..fragments import bump
from ..geography import resolve_places
from ..importing import Column, Importer, ImportSummary, Row, RowError, choice, text
from ..models import Organization, OrgStatus, User, utcnow

VENDOR_KINDS = ("cooperative", "enterprise", "household", "other")


def _credit_code(value: str) -> str:
    value = credit.normalize(value)
    if not credit.is_valid(value):
        raise ValueError(_("统一社会信用代码无效（18 位，校验位不符）"))
    return value


class VendorsImport(Importer):
    name = "vendors"
    title = _l("销售主体（合作社、企业）")
    key = "vendor_code"
    examples = {
        "vendor_code": "V-HK-001",
        "name": "海口石山荔枝专业合作社",
        "kind": "cooperative",
        "district": "秀英区",
        "town": "石山镇",
        "village": "施茶村",
        "credit_code": "",
        "contact_phone": "0898-66000000",
    }
    columns = [
        Column("vendor_code", parse=text(50)),
        Column("name", parse=text(200)),
        Column("kind", parse=choice(VENDOR_KINDS)),
        Column("district", parse=text(50)),
        Column("town", parse=text(50)),
        Column("village", required=False, parse=text(50)),
        Column("credit_code", required=False, parse=_credit_code),
        Column("contact_phone", required=False, parse=text(30)),
    ]

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        seen: dict[str, int] = {}
        for row in rows:
            code = row["credit_code"]
            if code is None:
                continue
            if code in seen:
                yield RowError(row.number, "credit_code", _("与第 %(r)d 行重复", r=seen[code]))
            seen[code] = row.number
        owners = self.lookup(Organization.credit_code, seen.keys(), Organization.code)
        for row in rows:
            owner = owners.get(row["credit_code"])
            if owner is not None and owner.code != row["vendor_code"]:
                yield RowError(row.number, "credit_code", _("已被其他组织使用"))

    def committed(self) -> None:
        bump("catalog")  # vendor names show on product cards

    def write(self, rows: list[Row]) -> ImportSummary:
        places = resolve_places((r["district"], r["town"], r["village"]) for r in rows)
        existing = {
            org.code: org
            for chunk in chunks(rows)
            for org in db.session.scalars(
                select(Organization).where(Organization.code.in_([r["vendor_code"] for r in chunk]))
            )
        }
        verifier = self.actor if isinstance(self.actor, User) else None
        created = updated = 0
        for row in rows:
            district_id, town_id, village_id = places[
                (row["district"], row["town"], row["village"])
            ]
            org = existing.get(row["vendor_code"])
            if org is None:
                org = Organization(code=row["vendor_code"], status=OrgStatus.VERIFIED)
                org.verified_at = utcnow()
                org.verified_by_id = verifier.id if verifier else None
                db.session.add(org)
                created += 1
            else:
                updated += 1
            org.name = row["name"]
            org.kind = row["kind"]
            org.district_id, org.town_id, org.village_id = district_id, town_id, village_id
            if self.has_column("credit_code"):
                org.credit_code = row["credit_code"]
            if self.has_column("contact_phone"):
                org.contact_phone = row["contact_phone"]
        db.session.flush()
        return ImportSummary("vendors", {"created": len(rows) - updated, "updated": updated})
