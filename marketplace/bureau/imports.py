"""`import households`: the register of farming households (docs/formats.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from ..bulk import bulk_insert
from ..extensions import db
from ..geography import resolve_places
from ..importing import Column, Importer, ImportSummary, Row, choice, integer, text
from ..models import Household, HouseholdStatus, RiskLight, utcnow


class HouseholdsImport(Importer):
    name = "households"
    title = _l("建档立卡户")
    key = "household_code"
    columns = [
        Column("household_code", parse=text(50)),
        Column("head_name", parse=text(100)),
        Column("members", parse=integer(minimum=1, maximum=99)),
        Column("district", parse=text(50)),
        Column("town", parse=text(50)),
        Column("village", parse=text(50)),
        Column("status", parse=choice(HouseholdStatus)),
        # blank: green for a new household; an existing household keeps its light
        Column("risk_light", required=False, parse=choice(RiskLight), default=None),
        Column("registered_year", required=False, parse=integer(1949, 2100)),
    ]

    def write(self, rows: list[Row]) -> ImportSummary:
        places = resolve_places((r["district"], r["town"], r["village"]) for r in rows)
        existing = self.lookup(Household.code, (r["household_code"] for r in rows), Household.id)
        keep_year = not self.has_column("registered_year")
        now = utcnow()
        inserts, updates = [], []
        for row in rows:
            values = {
                "code": row["household_code"],
                "head_name": row["head_name"],
                "members": row["members"],
                "village_id": places[(row["district"], row["town"], row["village"])][2],
                "status": row["status"],
                "risk_light": row["risk_light"],
                "registered_year": row["registered_year"],
                "updated_at": now,
            }
            found = existing.get(row["household_code"])
            if found is None:
                values["risk_light"] = values["risk_light"] or RiskLight.GREEN
                inserts.append({**values, "created_at": now})
            else:
                if values["risk_light"] is None:
                    values.pop("risk_light")
                if keep_year:
                    values.pop("registered_year")
                updates.append({"id": found.id, **values})
        bulk_insert(Household.__table__, inserts)
        if updates:
            db.session.execute(update(Household), updates)
        return ImportSummary("households", {"created": len(inserts), "updated": len(updates)})
