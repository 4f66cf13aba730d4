"""District / town / village lookups shared by the imports and the pages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from .extensions import db
from .models import District, Town, Village


def resolve_places(
    places: Iterable[tuple[str, str, str | None]],
    created: list[str] | None = None,
) -> dict[tuple[str, str, str | None], tuple[int, int, int | None]]:
    """Map (district, town, village-or-None) names to (district_id, town_id, village_id),
    creating the places that do not exist yet (each named ``district/town/village`` in
    ``created``, when given, so an import can report it). Runs inside the caller's
    transaction with one query per level, not one per row."""
    wanted = set(places)
    districts = {d.name: d for d in db.session.scalars(select(District))}
    for name in {p[0] for p in wanted} - districts.keys():
        districts[name] = District(name=name)
        db.session.add(districts[name])
    db.session.flush()

    towns = {(t.district_id, t.name): t for t in db.session.scalars(select(Town))}
    for district_name, town_name in {(p[0], p[1]) for p in wanted}:
        key = (districts[district_name].id, town_name)
        if key not in towns:
            towns[key] = Town(district_id=key[0], name=town_name)
            db.session.add(towns[key])
    db.session.flush()

    villages = {(v.town_id, v.name): v for v in db.session.scalars(select(Village))}
    for district_name, town_name, village_name in wanted:
        if village_name is None:
            continue
        key = (towns[(districts[district_name].id, town_name)].id, village_name)
        if key not in villages:
            villages[key] = Village(town_id=key[0], name=village_name)
            db.session.add(villages[key])
            if created is not None:
                created.append(f"{district_name}/{town_name}/{village_name}")
    db.session.flush()

    result = {}
    for district_name, town_name, village_name in wanted:
        district = districts[district_name]
        town = towns[(district.id, town_name)]
        village = villages[(town.id, village_name)] if village_name is not None else None
        result[(district_name, town_name, village_name)] = (
            district.id,
            town.id,
            village.id if village else None,
        )
    return result
