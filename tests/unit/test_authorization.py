"""Who may see the household register and act in an organization (DESIGN.md, "Privacy"
and "Authorization")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.authz import can
from marketplace.extensions import db
from marketplace.models import Household, Membership, OrgKind, OrgStatus, Role

from ..factories import HouseholdFactory, MembershipFactory, OrgFactory, UserFactory, member_of


def citizen():
    return UserFactory()


def cooperative_member():
    return member_of(OrgKind.COOPERATIVE, Role.ADMIN)


def enterprise_staff():
    return member_of(OrgKind.ENTERPRISE, Role.STAFF)


def agency_member():
    return member_of(OrgKind.AGENCY, Role.ADMIN)


def agency_approver():
    return member_of(OrgKind.AGENCY, Role.APPROVER)


def unverified_bureau_admin():
    return member_of(OrgKind.BUREAU, Role.ADMIN, status=OrgStatus.PENDING)


def rejected_bureau_staff():
    return member_of(OrgKind.BUREAU, Role.STAFF, status=OrgStatus.REJECTED)


OUTSIDERS = [
    citizen,
    cooperative_member,
    enterprise_staff,
    agency_member,
    agency_approver,
    unverified_bureau_admin,
    rejected_bureau_staff,
]


@pytest.fixture
def household():
    return HouseholdFactory(code="HK-SECRET-01", head_name="符秘密", status="poor")


@pytest.mark.parametrize("make_user", OUTSIDERS, ids=lambda f: f.__name__)
def test_household_pages_are_403_and_never_show_the_household(client, auth, household, make_user):
    auth.login(make_user().email)
    for url in ["/bureau/households", f"/bureau/households/{household.id}"]:
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.get_data(as_text=True)
        assert "HK-SECRET-01" not in body and "符秘密" not in body
    json_response = client.get("/bureau/households", headers={"Accept": "application/json"})
    assert json_response.status_code == 403
    assert "符秘密" not in json_response.get_data(as_text=True)


@pytest.mark.parametrize("make_user", OUTSIDERS, ids=lambda f: f.__name__)
def test_household_edit_is_403_and_changes_nothing(client, auth, household, make_user):
    auth.login(make_user().email)
    response = client.post(
        f"/bureau/households/{household.id}", data={"status": "alleviated", "risk_light": "red"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    stored = db.session.get(Household, household.id)
    assert (stored.status, stored.risk_light) == ("poor", "green")


@pytest.mark.parametrize("make_user", OUTSIDERS, ids=lambda f: f.__name__)
def test_other_bureau_pages_are_403(client, auth, make_user):
    auth.login(make_user().email)
    for url in ["/bureau/imports", "/bureau/orgs", "/bureau/audit"]:
        assert client.get(url).status_code == 403, url


def test_bureau_staff_see_household_list_and_detail(client, auth, household):
    auth.login(member_of(OrgKind.BUREAU, Role.STAFF).email)
    listing = client.get("/bureau/households").get_data(as_text=True)
    assert "HK-SECRET-01" in listing and "符秘密" in listing
    detail = client.get(f"/bureau/households/{household.id}").get_data(as_text=True)
    assert "符秘密" in detail


def test_bureau_member_acting_for_another_org_gets_403(client, auth, household):
    """Rights follow the active organization: a bureau member who switched to a
    cooperative they also belong to cannot read the register from there."""
    user = member_of(OrgKind.BUREAU, Role.STAFF)
    coop = OrgFactory(kind=OrgKind.COOPERATIVE)
    MembershipFactory(user=user, org=coop, role=Role.ADMIN)
    auth.login(user.email)
    assert client.get("/bureau/households").status_code == 200
    client.post(f"/orgs/switch/{coop.id}")
    assert client.get("/bureau/households").status_code == 403


def test_home_page_never_shows_household_names_or_codes(client, household):
    body = client.get("/").get_data(as_text=True)
    assert "符秘密" not in body and "HK-SECRET-01" not in body


@pytest.mark.parametrize(
    "url",
    ["/bureau/households", "/bureau/households/1", "/bureau/imports", "/orgs/members", "/account"],
)
def test_anonymous_users_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_anonymous_post_changes_nothing(client, household):
    response = client.post(f"/bureau/households/{household.id}", data={"status": "alleviated"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == "poor"


# ---- an organization's admin stays inside their organization ----


@pytest.fixture
def two_orgs():
    admin_a = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="甲合作社")
    org_b = OrgFactory(kind=OrgKind.COOPERATIVE, name="乙合作社")
    MembershipFactory(org=org_b, role=Role.ADMIN, user=UserFactory(email="boss-b@example.cn"))
    staff_b = MembershipFactory(
        org=org_b, role=Role.STAFF, user=UserFactory(email="staff-b@example.cn")
    )
    return admin_a, org_b, staff_b


def membership(membership_id: int) -> Membership | None:
    db.session.expire_all()
    return db.session.get(Membership, membership_id)


def test_members_page_lists_only_own_org(client, auth, two_orgs):
    admin_a, _org_b, _staff_b = two_orgs
    auth.login(admin_a.email)
    page = client.get("/orgs/members").get_data(as_text=True)
    assert admin_a.email in page
    assert "staff-b@example.cn" not in page and "boss-b@example.cn" not in page


def test_admin_cannot_change_role_in_another_org(client, auth, two_orgs):
    admin_a, _org_b, staff_b = two_orgs
    auth.login(admin_a.email)
    response = client.post(f"/orgs/members/{staff_b.id}/role", data={"role": "admin"})
    assert response.status_code == 404
    assert membership(staff_b.id).role == Role.STAFF


def test_admin_cannot_remove_member_of_another_org(client, auth, two_orgs):
    admin_a, _org_b, staff_b = two_orgs
    auth.login(admin_a.email)
    assert client.post(f"/orgs/members/{staff_b.id}/remove").status_code == 404
    assert membership(staff_b.id) is not None


def test_admin_cannot_add_members_to_another_org(client, auth, two_orgs):
    admin_a, org_b, _staff_b = two_orgs
    newcomer = UserFactory()
    auth.login(admin_a.email)
    # the form has no org field: whatever is posted lands in the admin's own org
    client.post(
        "/orgs/members", data={"email": newcomer.email, "role": "staff", "org_id": org_b.id}
    )
    db.session.expire_all()
    assert [m.org.name for m in newcomer.memberships] == ["甲合作社"]


def test_switching_to_an_org_you_do_not_belong_to_is_404(client, auth, two_orgs):
    admin_a, org_b, _staff_b = two_orgs
    auth.login(admin_a.email)
    assert client.post(f"/orgs/switch/{org_b.id}").status_code == 404
    page = client.get("/orgs/members").get_data(as_text=True)
    assert "staff-b@example.cn" not in page


def test_staff_cannot_manage_members_of_own_org(client, auth):
    staff = member_of(OrgKind.COOPERATIVE, Role.STAFF)
    other = MembershipFactory(org=staff.memberships[0].org, role=Role.STAFF)
    auth.login(staff.email)
    assert client.get("/orgs/members").status_code == 403
    assert client.post(f"/orgs/members/{other.id}/remove").status_code == 403
    assert membership(other.id) is not None


# ---- the one helper behind every decision ----


def test_can_grants_only_in_verified_orgs_and_only_to_listed_roles(app):
    bureau_staff = member_of(OrgKind.BUREAU, Role.STAFF)
    bureau = bureau_staff.memberships[0].org
    assert can(bureau_staff, "households.edit", bureau)
    bureau.status = OrgStatus.PENDING
    assert not can(bureau_staff, "households.edit", bureau)
    assert can(bureau_staff, "org.view", bureau)  # an applicant can follow the application

    coop_admin = member_of(OrgKind.COOPERATIVE)
    assert not can(coop_admin, "households.view", coop_admin.memberships[0].org)
    assert not can(coop_admin, "households.view", bureau)  # not a member there

    buyer = member_of(OrgKind.AGENCY, Role.BUYER)
    agency = buyer.memberships[0].org
    assert can(buyer, "procurement.order", agency)
    assert not can(buyer, "procurement.approve", agency)
    assert not can(buyer, "org.manage_members", agency)


def test_can_rejects_unknown_permissions(app):
    with pytest.raises(KeyError):
        can(member_of(OrgKind.BUREAU), "households.delete_everything", None)


def test_households_in_database_are_untouched_by_forbidden_requests(client, auth, household):
    auth.login(cooperative_member().email)
    client.post(f"/bureau/households/{household.id}", data={"status": "general"})
    rows = db.session.scalars(select(Household.status)).all()
    assert rows == ["poor"]
