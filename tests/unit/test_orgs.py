"""Organizations: applying, the bureau's verification, members and roles."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.errors import ValidationError
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    Membership,
    Organization,
    OrgKind,
    OrgStatus,
    Role,
    User,
)
from marketplace.orgs import services

from ..factories import MembershipFactory, OrgFactory, UserFactory, member_of

VALID_CODE = "91350100M000100Y43"


def application(**overrides) -> dict:
    return {
        "name": "美德村种养专业合作社",
        "kind": "cooperative",
        "credit_code": VALID_CODE,
        "contact_name": "符主任",
        "contact_phone": "13800138000",
        **overrides,
    }


def orgs() -> list[Organization]:
    db.session.expire_all()
    return list(db.session.scalars(select(Organization).order_by(Organization.id)))


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ---- applying ----


def test_application_is_pending_and_applicant_becomes_admin(client, auth):
    applicant = UserFactory()
    auth.login(applicant.email)
    assert client.post("/orgs/apply", data=application()).status_code == 302
    [org] = orgs()
    assert (org.name, org.kind, org.status) == ("美德村种养专业合作社", "cooperative", "pending")
    assert org.credit_code == VALID_CODE and org.applied_by_id == applicant.id
    [membership] = org.memberships
    assert (membership.user_id, membership.role) == (applicant.id, Role.ADMIN)
    assert "待审核" in client.get("/orgs/mine").get_data(as_text=True)


def test_lowercase_credit_code_is_accepted_and_stored_uppercase(client, auth):
    auth.login(UserFactory().email)
    client.post("/orgs/apply", data=application(credit_code=VALID_CODE.lower()))
    assert [o.credit_code for o in orgs()] == [VALID_CODE]


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100YI3"])
def test_bad_credit_code_is_refused_with_a_message(client, auth, code):
    auth.login(UserFactory().email)
    page = client.post("/orgs/apply", data=application(credit_code=code)).get_data(as_text=True)
    assert "统一社会信用代码无效" in page
    assert orgs() == []


def test_credit_code_already_registered_is_refused(client, auth):
    OrgFactory(credit_code=VALID_CODE)
    auth.login(UserFactory().email)
    page = client.post("/orgs/apply", data=application()).get_data(as_text=True)
    assert "该统一社会信用代码已登记" in page
    assert len(orgs()) == 1


def test_nobody_can_apply_to_be_a_bureau(client, auth):
    auth.login(UserFactory().email)
    client.post("/orgs/apply", data=application(kind="bureau"))
    assert orgs() == []


def test_pending_org_admin_cannot_manage_members(client, auth):
    applicant = UserFactory()
    newcomer = UserFactory()
    auth.login(applicant.email)
    client.post("/orgs/apply", data=application())
    assert client.get("/orgs/members").status_code == 403
    response = client.post("/orgs/members", data={"email": newcomer.email, "role": "staff"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(Membership.id))) == 1


# ---- the bureau's review ----


@pytest.fixture
def bureau_staff():
    return member_of(OrgKind.BUREAU, Role.STAFF, name="海口市乡村振兴局")


@pytest.fixture
def pending_org():
    org = OrgFactory(status=OrgStatus.PENDING, kind=OrgKind.ENTERPRISE, name="绿野农业有限公司")
    MembershipFactory(org=org, role=Role.ADMIN)
    return org


def test_bureau_verifies_an_application_and_it_is_audited(client, auth, bureau_staff, pending_org):
    auth.login(bureau_staff.email)
    queue = client.get("/bureau/orgs").get_data(as_text=True)
    assert "绿野农业有限公司" in queue
    assert client.post(f"/bureau/orgs/{pending_org.id}/verify").status_code == 302
    org = db.session.get(Organization, pending_org.id)
    assert org.status == OrgStatus.VERIFIED and org.verified_by_id == bureau_staff.id
    [entry] = audit("org.verify")
    assert entry.actor_id == bureau_staff.id and entry.object_id == str(org.id)
    assert entry.changes == {"status": {"old": "pending", "new": "verified"}}
    # the org's admin can now manage members
    admin = org.memberships[0].user
    auth.logout()
    auth.login(admin.email)
    assert client.get("/orgs/members").status_code == 200


def test_bureau_rejects_with_a_reason_and_it_is_audited(client, auth, bureau_staff, pending_org):
    auth.login(bureau_staff.email)
    client.post(f"/bureau/orgs/{pending_org.id}/reject", data={"reason": "信用代码与名称不符"})
    org = orgs()[-1]
    assert org.id == pending_org.id
    assert (org.status, org.rejection_reason) == (OrgStatus.REJECTED, "信用代码与名称不符")
    [entry] = audit("org.reject")
    assert entry.actor_id == bureau_staff.id
    assert entry.reason == "信用代码与名称不符"
    assert entry.changes == {"status": {"old": "pending", "new": "rejected"}}


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(client, auth, bureau_staff, pending_org, reason):
    auth.login(bureau_staff.email)
    client.post(f"/bureau/orgs/{pending_org.id}/reject", data={"reason": reason})
    assert db.session.get(Organization, pending_org.id).status == OrgStatus.PENDING
    assert audit("org.reject") == []


def test_service_reject_needs_a_reason(app, bureau_staff, pending_org):
    with pytest.raises(ValidationError):
        services.reject_org(bureau_staff, bureau_staff.memberships[0].org, pending_org.id, "  ")
    assert db.session.get(Organization, pending_org.id).status == OrgStatus.PENDING


def test_verifying_twice_is_refused_and_audited_once(client, auth, bureau_staff, pending_org):
    auth.login(bureau_staff.email)
    client.post(f"/bureau/orgs/{pending_org.id}/verify")
    client.post(f"/bureau/orgs/{pending_org.id}/verify")
    assert len(audit("org.verify")) == 1


def test_a_rejected_org_can_later_be_verified(client, auth, bureau_staff, pending_org):
    auth.login(bureau_staff.email)
    client.post(f"/bureau/orgs/{pending_org.id}/reject", data={"reason": "材料不全"})
    client.post(f"/bureau/orgs/{pending_org.id}/verify")
    org = db.session.get(Organization, pending_org.id)
    assert (org.status, org.rejection_reason) == (OrgStatus.VERIFIED, None)
    assert audit("org.verify")[0].changes == {"status": {"old": "rejected", "new": "verified"}}


def test_bureau_itself_cannot_be_reviewed(client, auth, bureau_staff):
    auth.login(bureau_staff.email)
    bureau = bureau_staff.memberships[0].org
    assert client.post(f"/bureau/orgs/{bureau.id}/reject", data={"reason": "x"}).status_code == 404
    assert db.session.get(Organization, bureau.id).status == OrgStatus.VERIFIED


# ---- members and roles ----


def test_admin_adds_member_and_changes_role(client, auth):
    admin = member_of(OrgKind.COOPERATIVE)
    newcomer = UserFactory()
    auth.login(admin.email)
    client.post("/orgs/members", data={"email": newcomer.email, "role": "staff"})
    [membership] = db.session.scalars(select(Membership).where(Membership.user_id == newcomer.id))
    assert membership.role == Role.STAFF
    client.post(f"/orgs/members/{membership.id}/role", data={"role": "admin"})
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role == Role.ADMIN
    assert audit("org.change_role")[0].changes == {"role": {"old": "staff", "new": "admin"}}


@pytest.mark.parametrize("role", ["buyer", "approver"])
def test_agency_roles_are_refused_outside_agencies(client, auth, role):
    admin = member_of(OrgKind.COOPERATIVE)
    newcomer = UserFactory()
    auth.login(admin.email)
    client.post("/orgs/members", data={"email": newcomer.email, "role": role})
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).memberships == []
    with pytest.raises(ValidationError):
        services.add_member(admin, admin.memberships[0].org, newcomer.email, role)
    staff = MembershipFactory(org=admin.memberships[0].org, role=Role.STAFF)
    with pytest.raises(ValidationError):
        services.change_role(admin, admin.memberships[0].org, staff.id, role)
    db.session.expire_all()
    assert db.session.get(Membership, staff.id).role == Role.STAFF


@pytest.mark.parametrize("role", ["buyer", "approver"])
def test_agency_roles_are_allowed_in_agencies(client, auth, role):
    admin = member_of(OrgKind.AGENCY)
    newcomer = UserFactory()
    auth.login(admin.email)
    client.post("/orgs/members", data={"email": newcomer.email, "role": role})
    db.session.expire_all()
    assert [m.role for m in db.session.get(User, newcomer.id).memberships] == [role]


def test_roles_offered_depend_on_kind():
    assert set(services.roles_for(OrgKind.AGENCY)) == {"admin", "staff", "buyer", "approver"}
    for kind in OrgKind:
        if kind != OrgKind.AGENCY:
            assert set(services.roles_for(kind)) == {"admin", "staff"}


def test_last_admin_cannot_be_demoted_or_removed(client, auth):
    admin = member_of(OrgKind.COOPERATIVE)
    own = admin.memberships[0]
    auth.login(admin.email)
    client.post(f"/orgs/members/{own.id}/role", data={"role": "staff"})
    client.post(f"/orgs/members/{own.id}/remove")
    db.session.expire_all()
    assert db.session.get(Membership, own.id).role == Role.ADMIN


def test_user_switches_between_own_orgs(client, auth):
    admin = member_of(OrgKind.COOPERATIVE, name="甲合作社")
    second = OrgFactory(kind=OrgKind.ENTERPRISE, name="乙企业")
    MembershipFactory(user=admin, org=second, role=Role.ADMIN)
    MembershipFactory(org=second, role=Role.STAFF, user=UserFactory(email="yi@example.cn"))
    auth.login(admin.email)
    assert "yi@example.cn" not in client.get("/orgs/members").get_data(as_text=True)
    assert client.post(f"/orgs/switch/{second.id}").status_code == 302
    assert "yi@example.cn" in client.get("/orgs/members").get_data(as_text=True)
