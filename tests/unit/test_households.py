"""The household register: bureau staff list, filter and edit; every edit is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.bureau import services
from marketplace.errors import Forbidden, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry, Household, OrgKind, Role

from ..factories import HouseholdFactory, VillageFactory, member_of


@pytest.fixture
def staff():
    return member_of(OrgKind.BUREAU, Role.STAFF)


def stored(household_id: int) -> Household:
    db.session.expire_all()
    return db.session.get(Household, household_id)


def audit_rows() -> list[AuditEntry]:
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "household.update"))
    )


def test_staff_change_status_and_risk_light_and_the_change_is_audited(client, auth, staff):
    household = HouseholdFactory(status="alleviated", risk_light="green")
    auth.login(staff.email)
    response = client.post(
        f"/bureau/households/{household.id}",
        data={"status": "monitored", "risk_light": "red", "reason": "因病返贫风险"},
    )
    assert response.status_code == 302
    after = stored(household.id)
    assert (after.status, after.risk_light) == ("monitored", "red")

    [entry] = audit_rows()
    assert entry.actor_id == staff.id and entry.actor_label == staff.email
    assert entry.object_type == "households" and entry.object_id == str(household.id)
    assert entry.changes == {
        "status": {"old": "alleviated", "new": "monitored"},
        "risk_light": {"old": "green", "new": "red"},
    }
    assert entry.reason == "因病返贫风险"
    # the change shows in the household's history on its page
    page = client.get(f"/bureau/households/{household.id}").get_data(as_text=True)
    assert "因病返贫风险" in page and staff.email in page


def test_only_changed_fields_are_audited_and_no_change_writes_no_row(client, auth, staff):
    household = HouseholdFactory(status="poor", risk_light="green")
    auth.login(staff.email)
    client.post(
        f"/bureau/households/{household.id}", data={"status": "poor", "risk_light": "yellow"}
    )
    [entry] = audit_rows()
    assert entry.changes == {"risk_light": {"old": "green", "new": "yellow"}}
    client.post(
        f"/bureau/households/{household.id}", data={"status": "poor", "risk_light": "yellow"}
    )
    assert len(audit_rows()) == 1


@pytest.mark.parametrize(
    ("status", "risk_light"), [("rich", "green"), ("poor", "purple"), ("", "green")]
)
def test_invalid_status_or_light_is_refused_through_the_page(
    client, auth, staff, status, risk_light
):
    household = HouseholdFactory(status="poor", risk_light="green")
    auth.login(staff.email)
    response = client.post(
        f"/bureau/households/{household.id}", data={"status": status, "risk_light": risk_light}
    )
    assert response.status_code == 200  # the form again, not a redirect
    after = stored(household.id)
    assert (after.status, after.risk_light) == ("poor", "green")
    assert audit_rows() == []


def test_service_refuses_invalid_values(app, staff):
    household = HouseholdFactory(status="poor")
    bureau = staff.memberships[0].org
    with pytest.raises(ValidationError):
        services.update_household(staff, bureau, household.id, status="rich", risk_light="red")
    with pytest.raises(ValidationError):
        services.update_household(staff, bureau, household.id, status="edge", risk_light="blue")
    assert stored(household.id).status == "poor"
    assert audit_rows() == []


def test_service_refuses_non_bureau_actor(app):
    household = HouseholdFactory(status="poor")
    coop_admin = member_of(OrgKind.COOPERATIVE)
    with pytest.raises(Forbidden):
        services.update_household(
            coop_admin,
            coop_admin.memberships[0].org,
            household.id,
            status="general",
            risk_light="green",
        )
    assert stored(household.id).status == "poor"


def test_unknown_household_is_404(client, auth, staff):
    auth.login(staff.email)
    assert client.get("/bureau/households/999999").status_code == 404


def test_list_filters_by_status_light_place_and_search(client, auth, staff):
    village = VillageFactory(name="美德村")
    HouseholdFactory(
        code="HK-A", head_name="符甲", status="poor", risk_light="red", village=village
    )
    HouseholdFactory(code="HK-B", head_name="王乙", status="poor", risk_light="green")
    HouseholdFactory(code="HK-C", head_name="吴丙", status="alleviated", village=village)
    auth.login(staff.email)

    def codes(query: str) -> set[str]:
        page = client.get(f"/bureau/households?{query}").get_data(as_text=True)
        return {c for c in ("HK-A", "HK-B", "HK-C") if c in page}

    assert codes("") == {"HK-A", "HK-B", "HK-C"}
    assert codes("status=poor") == {"HK-A", "HK-B"}
    assert codes("risk=red") == {"HK-A"}
    assert codes(f"village={village.id}") == {"HK-A", "HK-C"}
    assert codes(f"district={village.town.district_id}") == {"HK-A", "HK-C"}
    assert codes("q=王乙") == {"HK-B"}


def test_list_is_paginated(client, auth, staff, app):
    size = app.config["PAGE_SIZE"]
    for n in range(size + 3):
        HouseholdFactory(code=f"HP{n:04d}")
    auth.login(staff.email)
    first = client.get("/bureau/households").get_data(as_text=True)
    second = client.get("/bureau/households?page=2").get_data(as_text=True)
    assert "HP0000" in first and f"HP{size:04d}" not in first
    assert f"HP{size:04d}" in second and "HP0000" not in second
