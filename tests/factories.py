"""factory_boy factories for the kernel's models."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from marketplace.accounts.services import hash_password
from marketplace.extensions import db
from marketplace.models import (
    District,
    Household,
    Membership,
    Organization,
    OrgKind,
    OrgStatus,
    Role,
    Town,
    User,
    Village,
)

from .conftest import TEST_PASSWORD


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.cn")
    name = factory.Sequence(lambda n: f"用户{n}")
    password_hash = factory.LazyFunction(lambda: hash_password(TEST_PASSWORD))


class OrgFactory(Base):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试组织{n}")
    kind = OrgKind.COOPERATIVE
    status = OrgStatus.VERIFIED


class MembershipFactory(Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(OrgFactory)
    role = Role.ADMIN


class DistrictFactory(Base):
    class Meta:
        model = District

    name = factory.Sequence(lambda n: f"区{n}")


class TownFactory(Base):
    class Meta:
        model = Town

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"镇{n}")


class VillageFactory(Base):
    class Meta:
        model = Village

    town = factory.SubFactory(TownFactory)
    name = factory.Sequence(lambda n: f"村{n}")
    is_poor = True


class HouseholdFactory(Base):
    class Meta:
        model = Household

    code = factory.Sequence(lambda n: f"HH{n:06d}")
    head_name = factory.Sequence(lambda n: f"户主{n}")
    members = 3
    village = factory.SubFactory(VillageFactory)
    status = "alleviated"
    risk_light = "green"


def member_of(kind: str = OrgKind.COOPERATIVE, role: str = Role.ADMIN, **org_fields) -> User:
    """A user who is a ``role`` member of a new verified organization of ``kind``."""
    membership = MembershipFactory(org=OrgFactory(kind=kind, **org_fields), role=role)
    return membership.user
