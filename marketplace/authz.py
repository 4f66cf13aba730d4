"""The one place that answers "may this user do X in organization Y".

Permissions name an action; each maps organization kinds to the roles that may do it
there. Only verified organizations grant anything, and the bureau is the one kind whose
members act across organizations (verifying them, reading the register).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, session
from flask_babel import gettext as _
from flask_login import current_user

from .errors import Forbidden
from .extensions import login_manager
from .models import SELLER_KINDS, Organization, OrgKind, Role, User

ANY_ROLE = frozenset(Role)
_SELLERS = {kind: ANY_ROLE - {Role.BUYER, Role.APPROVER} for kind in SELLER_KINDS}

PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    # bureau (乡村振兴局)
    "households.view": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "households.edit": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "orgs.verify": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "imports.run": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "audit.view": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "reports.view": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "rewards.manage": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "certifications.review": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "orders.refund": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "pickup_points.manage": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "settlement.manage": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    "privacy.edit": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    # every organization
    "org.view": {kind: ANY_ROLE for kind in OrgKind},
    "org.manage_members": {kind: frozenset({Role.ADMIN}) for kind in OrgKind},
    "org.edit_profile": {kind: frozenset({Role.ADMIN}) for kind in OrgKind},
    # sellers (cooperatives, enterprises, family farms, others)
    "products.manage": _SELLERS,
    "stock.manage": _SELLERS,
    "orders.fulfil": _SELLERS,
    "settlement.view": _SELLERS,
    # agencies (budget units)
    "procurement.order": {OrgKind.AGENCY: frozenset({Role.ADMIN, Role.BUYER})},
    "procurement.approve": {OrgKind.AGENCY: frozenset({Role.ADMIN, Role.APPROVER})},
    "procurement.quota": {OrgKind.AGENCY: frozenset({Role.ADMIN})},
    "procurement.oversee": {OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF})},
    # fairs and counters
    "fairs.organize": {
        OrgKind.FAIR_ORGANIZER: frozenset({Role.ADMIN, Role.STAFF}),
        OrgKind.BUREAU: frozenset({Role.ADMIN, Role.STAFF}),
    },
    "fairs.sell": _SELLERS,  # apply for stalls, move stock to them, record stall sales
    "counters.sell": {OrgKind.RETAILER: frozenset({Role.ADMIN, Role.STAFF})},
}

ACTIVE_ORG_KEY = "active_org_id"


def can(user: User | None, action: str, org: Organization | None) -> bool:
    """True when ``user`` holds, in ``org``, a role that grants ``action``.

    An unverified organization grants nothing but ``org.view`` to its own members, so an
    applicant can follow its application.
    """
    if action not in PERMISSIONS:
        raise KeyError(f"unknown permission {action!r}")
    if user is None or org is None or not getattr(user, "is_authenticated", False):
        return False
    membership = user.membership_in(org.id)
    if membership is None:
        return False
    if not org.is_verified and action != "org.view":
        return False
    return membership.role in PERMISSIONS[action].get(org.kind, frozenset())


def require(
    actor: User | None, action: str, org: Organization | None, *, unless: str | None = None
) -> None:
    """Raise ``Forbidden`` unless ``actor`` may do ``action`` in ``org``: the one check
    services make before acting (the app answers it with a 403 page). ``unless`` is a
    rule beyond roles that the caller found broken (the submitter of a procurement order
    approving it): refused with that message whatever the role."""
    if unless is not None:
        raise Forbidden(unless)
    if not can(actor, action, org):
        raise Forbidden(_("您没有权限执行此操作。"))


def active_org(user: User | None = None) -> Organization | None:
    """The organization the user acts for now: the one chosen in the session if the user
    still belongs to it, else the first verified one, else the first at all."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False) or not user.memberships:
        return None
    chosen = session.get(ACTIVE_ORG_KEY)
    for membership in user.memberships:
        if membership.org_id == chosen:
            return membership.org
    verified = [m.org for m in user.memberships if m.org.is_verified]
    return (verified or [user.memberships[0].org])[0]


def can_here(action: str) -> bool:
    """Template helper: may the current user do ``action`` in the active organization."""
    return can(current_user, action, active_org())


def org_required(action: str) -> Callable:
    """View decorator: log-in required, and the active organization must grant ``action``.

    The organization is put in ``g.org`` for the view; anything else is 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            org = active_org()
            if not can(current_user, action, org):
                abort(403)
            g.org = org
            return view(*args, **kwargs)

        return wrapped

    return decorator
