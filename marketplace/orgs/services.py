"""Organizations: applying, verification by the bureau, members and roles."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from .. import audit
from .. import credit_code as credit
from ..authz import require
from ..errors import IllegalTransition, NotFound, ValidationError
from ..extensions import db
from ..fragments import bump
from ..models import (
    AGENCY_ONLY_ROLES,
    Membership,
    Organization,
    OrgKind,
    OrgStatus,
    Role,
    User,
    utcnow,
)
from ..unit_of_work import unit_of_work

APPLICABLE_KINDS = [k for k in OrgKind if k != OrgKind.BUREAU]


def roles_for(kind: str) -> list[str]:
    """Roles an organization of this kind can give its members."""
    if kind == OrgKind.AGENCY:
        return list(Role)
    return [r for r in Role if r not in AGENCY_ONLY_ROLES]


def apply_for_org(applicant: User, data: dict) -> Organization:
    """Anyone may apply to register an organization; it stays pending until the bureau
    verifies it, and the applicant becomes its admin."""
    kind = data.get("kind")
    if kind not in APPLICABLE_KINDS:
        raise ValidationError(_("请选择组织类型"), {"kind": _("请选择组织类型")})
    code = credit.normalize(data.get("credit_code") or "")
    if not credit.is_valid(code):
        message = _("统一社会信用代码无效（18 位，校验位不符）")
        raise ValidationError(message, {"credit_code": message})
    with unit_of_work():
        taken = db.session.scalar(select(Organization.id).where(Organization.credit_code == code))
        if taken is not None:
            message = _("该统一社会信用代码已登记")
            raise ValidationError(message, {"credit_code": message})
        org = Organization(
            name=data["name"].strip(),
            kind=kind,
            status=OrgStatus.PENDING,
            credit_code=code,
            contact_name=(data.get("contact_name") or "").strip() or None,
            contact_phone=(data.get("contact_phone") or "").strip() or None,
            address=(data.get("address") or "").strip() or None,
            description=(data.get("description") or "").strip() or None,
            applied_by_id=applicant.id,
        )
        db.session.add(org)
        db.session.flush()
        db.session.add(Membership(user_id=applicant.id, org_id=org.id, role=Role.ADMIN))
        audit.record(applicant, "org.apply", org, org_id=org.id)
    return org


def review_list(status: str | None, search: str | None):
    """The statement behind the bureau's review queue."""
    stmt = select(Organization).where(Organization.kind != OrgKind.BUREAU)
    if status:
        stmt = stmt.where(Organization.status == status)
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(
            or_(
                Organization.name.like(like),
                Organization.credit_code.like(like),
                Organization.code.like(like),
            )
        )
    return stmt.order_by(Organization.created_at.desc(), Organization.id.desc())


def get_org_for_review(actor: User, bureau: Organization, org_id: int) -> Organization:
    require(actor, "orgs.verify", bureau)
    org = db.session.get(Organization, org_id)
    if org is None or org.kind == OrgKind.BUREAU:
        raise NotFound()
    return org


def verify_org(actor: User, bureau: Organization, org_id: int) -> Organization:
    """Bureau staff verify a pending (or previously rejected) organization."""
    with unit_of_work():
        org = get_org_for_review(actor, bureau, org_id)
        if org.status == OrgStatus.VERIFIED:
            raise IllegalTransition(_("该组织已通过审核"))
        old = org.status
        org.status = OrgStatus.VERIFIED
        org.rejection_reason = None
        org.verified_at = utcnow()
        org.verified_by_id = actor.id
        audit.record(
            actor,
            "org.verify",
            org,
            org_id=bureau.id,
            changes={"status": {"old": old, "new": org.status}},
        )
    bump("catalog")  # a seller's products appear or disappear with it
    return org


def reject_org(actor: User, bureau: Organization, org_id: int, reason: str) -> Organization:
    """Bureau staff reject an application, or withdraw a verification, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写驳回理由"), {"reason": _("请填写驳回理由")})
    with unit_of_work():
        org = get_org_for_review(actor, bureau, org_id)
        if org.status == OrgStatus.REJECTED:
            raise IllegalTransition(_("该组织已被驳回"))
        old = org.status
        org.status = OrgStatus.REJECTED
        org.rejection_reason = reason
        audit.record(
            actor,
            "org.reject",
            org,
            org_id=bureau.id,
            reason=reason,
            changes={"status": {"old": old, "new": org.status}},
        )
    bump("catalog")  # a seller's products appear or disappear with it
    return org


def members_of(org: Organization) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership).where(Membership.org_id == org.id).order_by(Membership.id)
        )
    )


def _member(org: Organization, membership_id: int) -> Membership:
    membership = db.session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.org_id == org.id)
    )
    if membership is None:
        raise NotFound()
    return membership


def _check_role(org: Organization, role: str) -> None:
    if role not in roles_for(org.kind):
        raise ValidationError(_("此类组织不能设置该角色"), {"role": _("此类组织不能设置该角色")})


def _admins(org: Organization) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.org_id == org.id, Membership.role == Role.ADMIN
        )
    )


def add_member(actor: User, org: Organization, email: str, role: str) -> Membership:
    """An org admin adds an existing account to the organization with a role."""
    require(actor, "org.manage_members", org)
    _check_role(org, role)
    with unit_of_work():
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            message = _("没有使用该邮箱的账号，请对方先注册")
            raise ValidationError(message, {"email": message})
        if user.membership_in(org.id) is not None:
            message = _("该用户已是本组织成员")
            raise ValidationError(message, {"email": message})
        membership = Membership(user_id=user.id, org_id=org.id, role=role)
        db.session.add(membership)
        db.session.flush()
        audit.record(
            actor,
            "org.add_member",
            membership,
            org_id=org.id,
            changes={"user": user.email, "role": role},
        )
    return membership


def change_role(actor: User, org: Organization, membership_id: int, role: str) -> None:
    require(actor, "org.manage_members", org)
    _check_role(org, role)
    with unit_of_work():
        membership = _member(org, membership_id)
        if membership.role == Role.ADMIN and role != Role.ADMIN and _admins(org) <= 1:
            raise IllegalTransition(_("组织至少需要一名管理员"))
        old = membership.role
        membership.role = role
        audit.record(
            actor,
            "org.change_role",
            membership,
            org_id=org.id,
            changes={"role": {"old": old, "new": role}},
        )


def remove_member(actor: User, org: Organization, membership_id: int) -> None:
    require(actor, "org.manage_members", org)
    with unit_of_work():
        membership = _member(org, membership_id)
        if membership.role == Role.ADMIN and _admins(org) <= 1:
            raise IllegalTransition(_("组织至少需要一名管理员"))
        audit.record(
            actor,
            "org.remove_member",
            membership,
            org_id=org.id,
            changes={"user": membership.user.email, "role": membership.role},
        )
        db.session.delete(membership)


def membership_org(user: User, org_id: int) -> Organization:
    """One of the user's own organizations (for switching), else ``NotFound``."""
    membership = user.membership_in(org_id)
    if membership is None:
        raise NotFound()
    return membership.org
