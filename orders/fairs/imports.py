"""`import fairs` (docs/formats.md): fairs held before the app (or planned elsewhere),
keyed by ``fair_code``, which ``import sales`` refers to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, update

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.importing import Column, Importer, ImportSummary, Row, iso_date, text
from marketplace.models import utcnow
from orders.fairs.models import Fair, FairStatus


class FairsImport(Importer):
    name = "fairs"
    title = _l("爱心扶贫集市")
    key = "fair_code"
    examples = {
        "fair_code": "F-2026-001",
        "name": "龙华区爱心扶贫集市",
        "date": "2026-05-01",
        "venue": "海口市龙华区金贸广场",
        "district": "龙华区",
        "community": "金贸社区",
    }
    columns = [
        Column("fair_code", parse=text(50)),
        Column("name", parse=text(200)),
        Column("date", parse=iso_date),
        Column("venue", parse=text(200)),
        Column("district", parse=text(50)),
        Column("community", required=False, parse=text(100)),
    ]

    def write(self, rows: list[Row]) -> ImportSummary:
        existing = self.lookup(Fair.code, (r["fair_code"] for r in rows), Fair.id)
        keep_community = not self.has_column("community")
        today = local_today()
        now = utcnow()
        inserts, updates = [], []
        for row in rows:
            values = {
                "code": row["fair_code"],
                "name": row["name"],
                "date": row["date"],
                "venue": row["venue"],
                "district": row["district"],
                "community": row["community"],
            }
            found = existing.get(row["fair_code"])
            if found is None:
                # a fair already past when it is imported is history: held and closed
                status = FairStatus.CLOSED if row["date"] < today else FairStatus.PLANNED
                inserts.append({**values, "status": status, "created_at": now})
            else:
                if keep_community:
                    values.pop("community")
                updates.append({"id": found.id, **values})
        if inserts:
            db.session.execute(insert(Fair), inserts)
        if updates:
            db.session.execute(update(Fair), updates)
        return ImportSummary("fairs", {"created": len(inserts), "updated": len(updates)})
