"""`import households`: the register of farming households (docs/formats.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from ..bulk import bulk_insert
from ..extensions import db
from ..geography import resolve_places
from ..importing import Column, Importer, ImportSummary, Row, choice, integer, text
from ..models import Household, HouseholdStatus, RiskLight, utcnow

# the words the pages show (and the short forms people write) for the codes
STATUS_WORDS = {
    "未脱贫": "poor",
    "已脱贫": "alleviated",
    "边缘户": "edge",
    "脱贫监测户": "monitored",
    "监测户": "monitored",
    "一般户": "general",
}
RISK_WORDS = {
    "红灯": "red",
    "红": "red",
    "黄灯": "yellow",
    "黄": "yellow",
    "绿灯": "green",
    "绿": "green",
}


class HouseholdsImport(Importer):
    name = "households"
    title = _l("建档立卡户")
    key = "household_code"
    examples = {
        "household_code": "460106001001",
        "head_name": "王大华",
        "members": "4",
        "district": "龙华区",
        "town": "新坡镇",
        "village": "仁南村",
        "status": "已脱贫",
        "risk_light": "绿",
        "registered_year": "2016",
    }
    columns = [
        Column("household_code", parse=text(50)),
        Column("head_name", parse=text(100)),
        Column("members", parse=integer(minimum=1, maximum=99)),
        Column("district", parse=text(50)),
        Column("town", parse=text(50)),
        Column("village", parse=text(50)),
        Column("status", parse=choice(HouseholdStatus, STATUS_WORDS)),
        # blank: green for a new household; an existing household keeps its light
        Column("risk_light", required=False, parse=choice(RiskLight, RISK_WORDS), default=None),
        Column("registered_year", required=False, parse=integer(1949, 2100)),
    ]

    def write(self, rows: list[Row]) -> ImportSummary:
        new_villages: list[str] = []
        places = resolve_places(
            ((r["district"], r["town"], r["village"]) for r in rows), new_villages
        )
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
        summary = ImportSummary("households", {"created": len(inserts), "updated": len(updates)})
        if new_villages:
            summary.details.append("villages created: " + ", ".join(sorted(new_villages)))
        return summary
