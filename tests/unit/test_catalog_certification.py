"""Certification (认定) by the bureau: the workflow's rules, the benefit-link versions an
approval creates, and the bureau pages (queue, review, decisions, expiry reminders)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from catalog import certification
from catalog.certification import (
    CertificationApplication,
    apply_for_certification,
    approve_certification,
    reinstate_certification,
    reject_certification,
    revoke_certification,
    suspend_certification,
)
from catalog.links import links_in_force
from catalog.models import ALWAYS, BenefitLink, Certification, CertStatus
from catalog.sellability import is_sellable
from marketplace.clock import local_today
from marketplace.errors import Forbidden, IllegalTransition, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry, OrgKind, Role

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory, UserFactory, VillageFactory, member_of

TODAY = local_today()


@pytest.fixture
def reviewer():
    user = member_of(OrgKind.BUREAU, Role.STAFF)
    return user, user.memberships[0].org


@pytest.fixture
def application():
    """A pending application made through the vendor's service: three households with
    weights 2, 1 and 1."""
    village = VillageFactory(name="石岭村")
    vendor = member_of(OrgKind.COOPERATIVE, Role.ADMIN, name="石岭荔枝合作社", village=village)
    org = vendor.memberships[0].org
    product = ProductFactory(vendor=org, name="妃子笑荔枝")
    households = [
        HouseholdFactory(code="HH-A", head_name="王审甲", village=village),
        HouseholdFactory(code="HH-B", head_name="王审乙", village=village),
        HouseholdFactory(code="HH-C", head_name="王审丙", village=village),
    ]
    cert = apply_for_certification(
        vendor,
        org,
        product.id,
        CertificationApplication(
            benefit_mode="purchase",
            households=[("HH-A", Decimal("2")), ("HH-B", Decimal("1")), ("HH-C", Decimal("1"))],
            expected_annual_value=1_200_000,
            test_report_file="0123456789abcdef0123456789abcdef.pdf",
            test_report_valid_until=TODAY + timedelta(days=200),
        ),
    )
    return cert, households


def approve(reviewer, cert_id, no="FP-2025-001", on=TODAY, until=None):
    user, bureau = reviewer
    return approve_certification(
        user,
        bureau,
        cert_id,
        certificate_no=no,
        certified_on=on,
        valid_until=until or on + timedelta(days=364),
    )


def status_of(cert_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Certification, cert_id).status


# ---------------------------------------------------------------- the workflow


def test_approval_creates_the_link_version_from_certified_on_and_an_audit_row(
    reviewer, application
):
    cert, households = application
    product_id = cert.product_id
    certified_on = TODAY - timedelta(days=10)
    approve(reviewer, cert.id, no="FP-2025-007", on=certified_on)

    assert status_of(cert.id) == CertStatus.APPROVED
    links = db.session.scalars(
        select(BenefitLink).where(BenefitLink.product_id == product_id)
    ).all()
    assert {(link.household_id, link.weight, link.valid_from) for link in links} == {
        (households[0].id, Decimal("2"), certified_on),
        (households[1].id, Decimal("1"), certified_on),
        (households[2].id, Decimal("1"), certified_on),
    }
    assert all(link.certification_id == cert.id for link in links)
    assert links_in_force(product_id, certified_on - timedelta(days=1)) == []
    assert len(links_in_force(product_id, certified_on)) == 3

    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "certification.approve")
    ).all()
    assert entry.actor_id == reviewer[0].id and entry.org_id == reviewer[1].id
    assert entry.object_id == str(cert.id)
    assert entry.changes["certificate_no"] == "FP-2025-007"
    assert entry.changes["status"] == {"old": "pending", "new": "approved"}
    assert is_sellable(product_id, certified_on)


@pytest.mark.parametrize("decide", [reject_certification, suspend_certification])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_and_suspend_require_a_reason(reviewer, application, decide, reason):
    cert, _ = application
    if decide is suspend_certification:
        approve(reviewer, cert.id)
    before = status_of(cert.id)
    with pytest.raises(ValidationError) as raised:
        decide(*reviewer, cert.id, reason)
    assert "reason" in raised.value.errors
    assert status_of(cert.id) == before


@pytest.mark.parametrize("reason", ["", "  "])
def test_revoke_requires_a_reason(reviewer, application, reason):
    cert, _ = application
    approve(reviewer, cert.id)
    with pytest.raises(ValidationError):
        revoke_certification(*reviewer, cert.id, reason)
    assert status_of(cert.id) == CertStatus.APPROVED


def test_decisions_with_a_reason_keep_it_and_are_audited(reviewer, application):
    cert, _ = application
    reject_certification(*reviewer, cert.id, "检测报告已过期")
    db.session.expire_all()
    rejected = db.session.get(Certification, cert.id)
    assert (rejected.status, rejected.reason) == (CertStatus.REJECTED, "检测报告已过期")
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "certification.reject")
    ).all()
    assert entry.reason == "检测报告已过期"
    assert not is_sellable(cert.product_id, TODAY)


def test_illegal_transitions_are_refused(reviewer, application):
    cert, _ = application
    with pytest.raises(IllegalTransition):
        suspend_certification(*reviewer, cert.id, "抽检不合格")  # still pending
    with pytest.raises(IllegalTransition):
        reinstate_certification(*reviewer, cert.id, "整改完成")
    with pytest.raises(IllegalTransition):
        revoke_certification(*reviewer, cert.id, "不再生产")
    assert status_of(cert.id) == CertStatus.PENDING

    approve(reviewer, cert.id)
    with pytest.raises(IllegalTransition):
        approve(reviewer, cert.id, no="FP-2025-002")  # approving twice
    with pytest.raises(IllegalTransition):
        reject_certification(*reviewer, cert.id, "重复")
    with pytest.raises(IllegalTransition):
        reinstate_certification(*reviewer, cert.id, "未暂停")
    db.session.expire_all()
    assert db.session.get(Certification, cert.id).certificate_no == "FP-2025-001"

    revoke_certification(*reviewer, cert.id, "不再生产")
    for decide in (suspend_certification, reinstate_certification, revoke_certification):
        with pytest.raises(IllegalTransition):
            decide(*reviewer, cert.id, "已撤销")
    assert status_of(cert.id) == CertStatus.REVOKED


def test_approval_needs_a_number_and_a_sane_validity(reviewer, application):
    cert, _ = application
    with pytest.raises(ValidationError):
        approve(reviewer, cert.id, no="  ")
    with pytest.raises(ValidationError):
        approve(reviewer, cert.id, on=TODAY, until=TODAY - timedelta(days=1))
    CertificationFactory(certificate_no="FP-TAKEN")
    with pytest.raises(ValidationError):
        approve(reviewer, cert.id, no="FP-TAKEN")
    assert status_of(cert.id) == CertStatus.PENDING


def test_suspended_is_not_sellable_and_reinstating_makes_it_sellable_again(reviewer, application):
    cert, _ = application
    approve(reviewer, cert.id)
    assert is_sellable(cert.product_id, TODAY)
    suspend_certification(*reviewer, cert.id, "抽检不合格")
    assert not is_sellable(cert.product_id, TODAY)
    reinstate_certification(*reviewer, cert.id, "复检合格")
    assert is_sellable(cert.product_id, TODAY)
    revoke_certification(*reviewer, cert.id, "停止生产")
    assert not is_sellable(cert.product_id, TODAY)
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_id == str(cert.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "certification.apply",
        "certification.approve",
        "certification.suspend",
        "certification.reinstate",
        "certification.revoke",
    ]


@pytest.mark.parametrize(
    "make_user",
    [
        UserFactory,
        lambda: member_of(OrgKind.COOPERATIVE, Role.ADMIN),
        lambda: member_of(OrgKind.AGENCY, Role.ADMIN),
    ],
    ids=["citizen", "vendor", "agency"],
)
def test_only_the_bureau_may_decide(application, make_user):
    cert, _ = application
    user = make_user()
    org = user.memberships[0].org if user.memberships else None
    with pytest.raises(Forbidden):
        approve_certification(
            user, org, cert.id, certificate_no="X", certified_on=TODAY, valid_until=TODAY
        )
    with pytest.raises(Forbidden):
        reject_certification(user, org, cert.id, "不行")
    with pytest.raises(Forbidden):
        certification.certification_queue(user, org)
    assert status_of(cert.id) == CertStatus.PENDING


# ---------------------------------------------------------------- benefit link versions


def test_links_in_force_pick_the_latest_version_on_or_before_the_day():
    product = ProductFactory()
    other = ProductFactory()
    a, b, c, d = (HouseholdFactory() for _ in range(4))
    versions = {
        date(2024, 1, 1): [(a, "1"), (b, "3")],
        date(2024, 6, 1): [(c, "1")],
        date(2025, 1, 1): [(a, "2"), (d, "5")],
    }
    for valid_from, weights in versions.items():
        for household, weight in weights:
            BenefitLinkFactory(
                product=product, household=household, weight=Decimal(weight), valid_from=valid_from
            )
    BenefitLinkFactory(product=other, household=b, valid_from=date(2023, 1, 1))

    def in_force(day):
        return {(link.household_id, link.weight) for link in links_in_force(product.id, day)}

    assert in_force(date(2023, 12, 31)) == set()  # before any version
    assert in_force(date(2024, 1, 1)) == {(a.id, Decimal(1)), (b.id, Decimal(3))}  # boundary
    assert in_force(date(2024, 5, 31)) == {(a.id, Decimal(1)), (b.id, Decimal(3))}
    assert in_force(date(2024, 6, 1)) == {(c.id, Decimal(1))}
    assert in_force(date(2024, 12, 31)) == {(c.id, Decimal(1))}
    assert in_force(date(2025, 1, 1)) == {(a.id, Decimal(2)), (d.id, Decimal(5))}
    assert in_force(date(2030, 1, 1)) == {(a.id, Decimal(2)), (d.id, Decimal(5))}
    assert {link.household_id for link in links_in_force(other.id, date(2024, 6, 1))} == {b.id}


def test_a_version_without_valid_from_applies_to_every_day():
    product = ProductFactory()
    household = HouseholdFactory()
    BenefitLinkFactory(product=product, household=household, valid_from=ALWAYS)
    assert [link.household_id for link in links_in_force(product.id, date(1999, 1, 1))] == [
        household.id
    ]
    newer = HouseholdFactory()
    BenefitLinkFactory(product=product, household=newer, valid_from=date(2024, 1, 1))
    assert [link.household_id for link in links_in_force(product.id, date(2024, 1, 1))] == [
        newer.id
    ]


def test_a_second_approval_adds_a_new_version_and_keeps_the_old_one(reviewer, application):
    cert, households = application
    first_day = TODAY - timedelta(days=400)
    approve(reviewer, cert.id, no="FP-OLD", on=first_day, until=TODAY - timedelta(days=36))
    vendor = db.session.get(Certification, cert.id).product.vendor
    user = vendor.memberships[0].user
    renewal = apply_for_certification(
        user,
        vendor,
        cert.product_id,
        CertificationApplication(
            benefit_mode="wage",
            households=[("HH-C", Decimal("1"))],
            expected_annual_value=0,
            test_report_file="fedcba9876543210fedcba9876543210.pdf",
            test_report_valid_until=TODAY + timedelta(days=300),
        ),
    )
    approve(reviewer, renewal.id, no="FP-NEW", on=TODAY - timedelta(days=35))
    old = links_in_force(cert.product_id, first_day)
    new = links_in_force(cert.product_id, TODAY)
    assert {link.household_id for link in old} == {h.id for h in households}
    assert [link.household_id for link in new] == [households[2].id]


# ---------------------------------------------------------------- bureau pages


def login_reviewer(auth, reviewer):
    auth.login(reviewer[0].email)


@pytest.mark.parametrize(
    "make_user",
    [
        UserFactory,
        lambda: member_of(OrgKind.COOPERATIVE, Role.ADMIN),
        lambda: member_of(OrgKind.AGENCY, Role.ADMIN),
        lambda: member_of(OrgKind.BUREAU, Role.STAFF, status="pending"),
    ],
    ids=["citizen", "vendor", "agency", "unverified-bureau"],
)
def test_non_bureau_users_get_403_on_the_bureau_pages(client, auth, application, make_user):
    cert, _ = application
    auth.login(make_user().email)
    for url in (
        "/bureau/certifications",
        f"/bureau/certifications/{cert.id}",
        "/bureau/certifications/expiring",
    ):
        assert client.get(url).status_code == 403, url
    approve_data = {
        "certificate_no": "X",
        "certified_on": "2025-01-01",
        "valid_until": "2026-01-01",
    }
    response = client.post(f"/bureau/certifications/{cert.id}/approve", data=approve_data)
    assert response.status_code == 403
    response = client.post(f"/bureau/certifications/{cert.id}/reject", data={"reason": "x"})
    assert response.status_code == 403
    assert status_of(cert.id) == CertStatus.PENDING


def test_anonymous_users_are_sent_to_log_in(client, application):
    response = client.get("/bureau/certifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_queue_lists_pending_applications_by_default(client, auth, reviewer, application):
    CertificationFactory(product=ProductFactory(name="早已认定的蜂蜜"))
    login_reviewer(auth, reviewer)
    page = client.get("/bureau/certifications").get_data(as_text=True)
    assert "妃子笑荔枝" in page and "石岭荔枝合作社" in page
    assert "订单收购" in page  # benefit mode
    assert '<td class="text-end">3</td>' in page  # households
    assert "早已认定的蜂蜜" not in page
    approved = client.get("/bureau/certifications?status=approved").get_data(as_text=True)
    assert "早已认定的蜂蜜" in approved and "妃子笑荔枝" not in approved
    everything = client.get("/bureau/certifications?status=all").get_data(as_text=True)
    assert "早已认定的蜂蜜" in everything and "妃子笑荔枝" in everything
    empty = client.get("/bureau/certifications?status=revoked&page=9")
    assert empty.status_code == 200 and "没有符合条件的认定申请" in empty.get_data(as_text=True)


def test_review_page_shows_households_shares_and_only_allowed_forms(
    client, auth, reviewer, application
):
    cert, households = application
    login_reviewer(auth, reviewer)
    page = client.get(f"/bureau/certifications/{cert.id}").get_data(as_text=True)
    for household in households:  # the bureau may see names and codes
        assert household.head_name in page and household.code in page
    assert "50.00%" in page and "25.00%" in page
    assert "12,000.00" in page  # expected annual value
    assert 'data-testid="approve-form"' in page and 'data-testid="reject-form"' in page
    assert 'data-testid="suspend-form"' not in page and 'data-testid="revoke-form"' not in page

    approve(reviewer, cert.id)
    page = client.get(f"/bureau/certifications/{cert.id}").get_data(as_text=True)
    assert 'data-testid="approve-form"' not in page and 'data-testid="reject-form"' not in page
    assert 'data-testid="suspend-form"' in page and 'data-testid="revoke-form"' in page
    assert 'data-testid="reinstate-form"' not in page
    assert client.get("/bureau/certifications/999999").status_code == 404


def test_bureau_approves_through_the_page_and_the_product_goes_on_sale(
    client, auth, reviewer, application
):
    cert, _ = application
    assert "妃子笑荔枝" not in client.get("/products").get_data(as_text=True)
    login_reviewer(auth, reviewer)
    response = client.post(
        f"/bureau/certifications/{cert.id}/approve",
        data={
            "certificate_no": "FP-WEB-001",
            "certified_on": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=365)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "已批准认定，证书编号 FP-WEB-001" in response.get_data(as_text=True)
    assert status_of(cert.id) == CertStatus.APPROVED
    assert "妃子笑荔枝" in client.get("/products").get_data(as_text=True)
    # approving again is refused with a message in Chinese
    response = client.post(
        f"/bureau/certifications/{cert.id}/approve",
        data={
            "certificate_no": "FP-WEB-002",
            "certified_on": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=365)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "当前状态下不能执行此操作" in response.get_data(as_text=True)


def test_decisions_through_the_page_need_a_reason(client, auth, reviewer, application):
    cert, _ = application
    login_reviewer(auth, reviewer)
    url = f"/bureau/certifications/{cert.id}"
    response = client.post(f"{url}/reject", data={"reason": ""}, follow_redirects=True)
    assert "请填写理由" in response.get_data(as_text=True)
    assert status_of(cert.id) == CertStatus.PENDING
    response = client.post(f"{url}/suspend", data={"reason": "抽检"}, follow_redirects=True)
    assert "当前状态下不能执行此操作" in response.get_data(as_text=True)
    response = client.post(f"{url}/approve", data={"certificate_no": ""}, follow_redirects=True)
    assert "请填写证书编号" in response.get_data(as_text=True)
    assert status_of(cert.id) == CertStatus.PENDING

    response = client.post(f"{url}/reject", data={"reason": "检测报告不全"}, follow_redirects=True)
    assert "已驳回认定申请" in response.get_data(as_text=True)
    assert status_of(cert.id) == CertStatus.REJECTED


def test_suspend_and_reinstate_through_the_page(client, auth, reviewer, application):
    cert, _ = application
    approve(reviewer, cert.id)
    login_reviewer(auth, reviewer)
    url = f"/bureau/certifications/{cert.id}"
    client.post(f"{url}/suspend", data={"reason": "抽检不合格"})
    assert status_of(cert.id) == CertStatus.SUSPENDED
    suspended_page = client.get(f"/products/{cert.product_id}").get_data(as_text=True)
    assert "暂停销售" in suspended_page and 'data-testid="add-to-cart"' not in suspended_page
    client.post(f"{url}/reinstate", data={"reason": "复检合格"})
    assert status_of(cert.id) == CertStatus.APPROVED
    assert client.get(f"/products/{cert.product_id}").status_code == 200
    client.post(f"{url}/revoke", data={"reason": "停止生产"})
    assert status_of(cert.id) == CertStatus.REVOKED
    assert client.post(f"{url}/delete", data={"reason": "x"}).status_code == 404


def test_expiring_page_groups_by_band(client, auth, reviewer):
    def cert(name, days, report_days=None):
        return CertificationFactory(
            product=ProductFactory(name=name),
            valid_until=TODAY + timedelta(days=days),
            test_report_valid_until=TODAY + timedelta(days=report_days) if report_days else None,
        )

    cert("五天后到期", 5)
    cert("二十天后到期", 20, report_days=300)
    cert("六十天后到期", 60, report_days=25)
    cert("半年后到期", 180)
    login_reviewer(auth, reviewer)
    page = client.get("/bureau/certifications/expiring").get_data(as_text=True)
    band7, band30, band90 = (
        page.split('data-testid="band-7"')[1].split('data-testid="band-30"')[0],
        page.split('data-testid="band-30"')[1].split('data-testid="band-90"')[0],
        page.split('data-testid="band-90"')[1],
    )
    assert "五天后到期" in band7
    assert "二十天后到期" in band30 and "六十天后到期" in band30  # its test report
    assert "六十天后到期" in band90
    assert "半年后到期" not in page
    assert "检测报告" in band30 and "认定证书" in band7
