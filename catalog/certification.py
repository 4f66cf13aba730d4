"""Certification (扶贫产品认定): the vendor applies with its test report and the
households it links; the bureau approves (the households become the product's benefit
links from that day), rejects, suspends, reinstates or revokes; certificates and test
reports about to expire; the public notices (公示)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace import audit
from marketplace.authz import can, require
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.fragments import bump
from marketplace.models import Household, Organization, User, utcnow
from marketplace.notifications.services import Notice, link_to, notify_org
from marketplace.unit_of_work import unit_of_work

from . import files
from .households import vendor_households
from .links import replace_link_version
from .models import (
    MAX_APPLICATION_HOUSEHOLDS,
    BenefitMode,
    Certification,
    CertificationHousehold,
    CertStatus,
    HeldReport,
    Product,
)
from .products import get_vendor_product

EXPIRY_WINDOWS = (7, 30, 90)  # reminder bands, days


@dataclass
class CertificationApplication:
    benefit_mode: str
    households: Sequence[tuple[str, Decimal]]  # (household code, weight)
    expected_annual_value: int  # fen
    test_report_file: str | None = None  # stored name (see catalog.files)
    test_report_valid_until: date | None = None
    note: str = ""
    held_report_id: int | None = None  # the test report is a held one (catalog.held_reports)


def apply_for_certification(
    actor: User, org: Organization, product_id: int, application: CertificationApplication
) -> Certification:
    """The vendor applies for a product with its benefit mode and the households it
    links, entered by code: at most ``MAX_APPLICATION_HOUSEHOLDS``, all of its own town
    (``vendor_households``). A code that does not exist and one of another town get the
    same answer, so the form tells nobody which codes the register holds."""
    product = get_vendor_product(actor, org, product_id)
    found = _checked_households(org, application)
    with unit_of_work():
        if db.session.scalar(
            select(Certification.id).where(
                Certification.product_id == product.id,
                Certification.status == CertStatus.PENDING,
            )
        ):
            raise IllegalTransition(_("该产品已有待审核的认定申请"))
        if (
            application.held_report_id is not None
            and not db.session.execute(
                delete(HeldReport).where(
                    HeldReport.id == application.held_report_id, HeldReport.org_id == org.id
                )
            ).rowcount
        ):
            message = _("检测报告已过期，请重新上传")
            raise ValidationError(message, {"test_report": message})
        cert = Certification(
            product_id=product.id,
            status=CertStatus.PENDING,
            benefit_mode=application.benefit_mode,
            expected_annual_value=application.expected_annual_value,
            note=application.note,
            test_report_file=application.test_report_file,
            test_report_valid_until=application.test_report_valid_until,
            applied_by_id=actor.id,
        )
        cert.households = [
            CertificationHousehold(household_id=found[code], weight=weight)
            for code, weight in application.households
        ]
        db.session.add(cert)
        db.session.flush()
        audit.record(
            actor,
            "certification.apply",
            cert,
            org_id=org.id,
            changes={"product": product.sku, "households": len(found)},
        )
    return cert


def _checked_households(org: Organization, application: CertificationApplication) -> dict[str, int]:
    """code -> id of the application's households, once every field of the application
    is valid; else a ``ValidationError`` naming each wrong field."""
    errors: dict[str, str] = {}
    if application.benefit_mode not in set(BenefitMode):
        errors["benefit_mode"] = _("请选择带贫方式")
    if not application.households:
        errors["households"] = _("请至少填写一户受益农户")
    if len(application.households) > MAX_APPLICATION_HOUSEHOLDS:
        message = _("一次最多填写 %(n)d 户", n=MAX_APPLICATION_HOUSEHOLDS)
        raise ValidationError(message, {"households": message})
    codes = [code for code, _weight in application.households]
    if len(set(codes)) != len(codes):
        errors["households"] = _("户编码不能重复")
    if any(weight <= 0 for _code, weight in application.households):
        errors["households"] = _("权重必须是正数")
    if application.expected_annual_value < 0:
        errors["expected_annual_value"] = _("金额不能为负数")
    if application.test_report_file is None:
        errors["test_report"] = _("请上传检测报告（PDF）")
    if application.test_report_valid_until is None:
        errors["test_report_valid_until"] = _("请填写检测报告有效期")
    found = vendor_households(org, codes)
    refused = [code for code in codes if code not in found]
    if refused and "households" not in errors:
        errors["households"] = _(
            "以下户编码无法使用：%(codes)s。只能填写本销售主体所在乡镇登记在册的建档立卡户，"
            "请核对编码。",
            codes="、".join(refused),
        )
    if errors:
        raise ValidationError(next(iter(errors.values())), errors)
    return found


def certification_queue(actor: User, bureau: Organization, status: str = "") -> Select:
    require(actor, "certifications.review", bureau)
    stmt = select(Certification).options(
        joinedload(Certification.product).joinedload(Product.vendor),
        selectinload(Certification.households),
    )
    if status in set(CertStatus):
        stmt = stmt.where(Certification.status == status)
    return stmt.order_by(Certification.applied_at.desc(), Certification.id.desc())


def get_certification(actor: User, bureau: Organization, cert_id: int) -> Certification:
    require(actor, "certifications.review", bureau)
    cert = db.session.get(Certification, cert_id)
    if cert is None:
        raise NotFound()
    return cert


# The bureau's decisions: the statuses each may be taken from, and the one it leads to
DECISIONS: dict[str, frozenset[str]] = {
    "approve": frozenset({CertStatus.PENDING}),
    "reject": frozenset({CertStatus.PENDING}),
    "suspend": frozenset({CertStatus.APPROVED}),
    "reinstate": frozenset({CertStatus.SUSPENDED}),
    "revoke": frozenset({CertStatus.APPROVED, CertStatus.SUSPENDED}),
}
OUTCOMES: dict[str, str] = {
    "approve": CertStatus.APPROVED,
    "reject": CertStatus.REJECTED,
    "suspend": CertStatus.SUSPENDED,
    "reinstate": CertStatus.APPROVED,
    "revoke": CertStatus.REVOKED,
}


def _transition(cert: Certification, decision: str) -> str:
    """Take ``decision`` on the certification if its status allows it; the old status."""
    if cert.status not in DECISIONS[decision]:
        raise IllegalTransition(_("当前状态下不能执行此操作"))
    old, cert.status = cert.status, OUTCOMES[decision]
    cert.decided_at = utcnow()
    return old


def suggested_validity(certified_on: date, years: int) -> date:
    """The last valid day of a certificate that runs ``years`` years from
    ``certified_on``: 2026-03-01 + 2 years -> 2028-02-29."""
    try:
        end = certified_on.replace(year=certified_on.year + years)
    except ValueError:  # 29 February into a common year
        end = certified_on.replace(year=certified_on.year + years, day=28) + timedelta(days=1)
    return end - timedelta(days=1)


def suggested_certificate_no(pattern: str, certified_on: date) -> str:
    """The next free number of the year in the bureau's pattern, e.g.
    海口扶贫认定〔2026〕第0003号 when two of 2026 exist."""
    year = certified_on.year
    head = pattern.split("{seq", 1)[0].format(year=year)
    used = db.session.scalar(
        select(func.count(Certification.id)).where(Certification.certificate_no.like(f"{head}%"))
    )
    seq = used + 1
    while True:
        number = pattern.format(year=year, seq=seq)
        if not db.session.scalar(
            select(Certification.id).where(Certification.certificate_no == number)
        ):
            return number
        seq += 1


def approve_certification(
    actor: User,
    bureau: Organization,
    cert_id: int,
    *,
    certificate_no: str,
    certified_on: date,
    valid_until: date,
) -> Certification:
    """Approve with certificate number and validity; the proposed households become
    the product's benefit-link version from ``certified_on``."""
    certificate_no = (certificate_no or "").strip()
    if not certificate_no:
        raise ValidationError(_("请填写证书编号"), {"certificate_no": _("请填写证书编号")})
    if valid_until < certified_on:
        message = _("有效期截止日不能早于认定日期")
        raise ValidationError(message, {"valid_until": message})
    with unit_of_work():
        cert = get_certification(actor, bureau, cert_id)
        if db.session.scalar(
            select(Certification.id).where(
                Certification.certificate_no == certificate_no, Certification.id != cert.id
            )
        ):
            message = _("证书编号已被使用")
            raise ValidationError(message, {"certificate_no": message})
        old = _transition(cert, "approve")
        cert.certificate_no = certificate_no
        cert.certified_on, cert.valid_until = certified_on, valid_until
        cert.decided_by_id = actor.id
        cert.reason = None
        replace_link_version(
            cert.product_id,
            certified_on,
            [(h.household_id, h.weight) for h in cert.households],
            certification_id=cert.id,
        )
        audit.record(
            actor,
            "certification.approve",
            cert,
            org_id=bureau.id,
            changes={
                "status": {"old": old, "new": cert.status},
                "certificate_no": certificate_no,
                "certified_on": certified_on.isoformat(),
                "valid_until": valid_until.isoformat(),
            },
        )
    bump("catalog")  # the public list shows it at once
    tell_vendor_decision(cert)
    return cert


DECISION_TITLES = {
    CertStatus.APPROVED: _l("产品认定已通过：%(product)s"),
    CertStatus.REJECTED: _l("产品认定未通过：%(product)s"),
    CertStatus.SUSPENDED: _l("产品认定已暂停：%(product)s"),
    CertStatus.REVOKED: _l("产品认定已撤销：%(product)s"),
}


def tell_vendor_decision(cert: Certification) -> None:
    """The vendor's members learn of the bureau's decision (inbox and e-mail)."""
    title = DECISION_TITLES.get(cert.status)
    if title is None:
        return
    product = cert.product

    def compose() -> tuple[str, str]:
        lines = []
        if cert.status == CertStatus.APPROVED:
            lines.append(
                _(
                    "证书编号 %(no)s，有效期 %(start)s 至 %(end)s。",
                    no=cert.certificate_no,
                    start=cert.certified_on.isoformat(),
                    end=cert.valid_until.isoformat(),
                )
            )
        if cert.reason:
            lines.append(_("理由：%(reason)s", reason=cert.reason))
        return str(title) % {"product": product.name}, "\n".join(lines)

    notify_org(
        product.vendor,
        Notice(
            kind="certification.decision",
            compose=compose,
            link=link_to("catalog.vendor_products"),
            key=f"cert-decision:{cert.id}:{cert.status}:{cert.decided_at.isoformat()}",
        ),
    )


def _decide_with_reason(
    actor: User, bureau: Organization, cert_id: int, reason: str, decision: str
) -> Certification:
    """A decision the bureau gives a reason for (every one but approval)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写理由"), {"reason": _("请填写理由")})
    with unit_of_work():
        cert = get_certification(actor, bureau, cert_id)
        old = _transition(cert, decision)
        cert.reason = reason
        cert.decided_by_id = actor.id
        audit.record(
            actor,
            f"certification.{decision}",
            cert,
            org_id=bureau.id,
            reason=reason,
            changes={"status": {"old": old, "new": cert.status}},
        )
    bump("catalog")  # the public list shows it at once
    tell_vendor_decision(cert)
    return cert


def reject_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(actor, bureau, cert_id, reason, "reject")


def suspend_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(actor, bureau, cert_id, reason, "suspend")


def reinstate_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(actor, bureau, cert_id, reason, "reinstate")


def revoke_certification(actor, bureau, cert_id: int, reason: str) -> Certification:
    return _decide_with_reason(actor, bureau, cert_id, reason, "revoke")


@dataclass
class Expiry:
    what: str  # "certificate" or "test_report"
    certification: Certification
    expires_on: date
    days_left: int

    @property
    def band(self) -> int:
        """The reminder band: 7, 30 or 90 days."""
        return next(w for w in EXPIRY_WINDOWS if self.days_left <= w)


def expiring(today: date, within_days: int = 90, vendor_id: int | None = None) -> list[Expiry]:
    """Approved certificates and their test reports that expire within ``within_days``
    days of ``today`` (and have not expired yet), soonest first."""
    horizon = today + timedelta(days=within_days)
    stmt = (
        select(Certification)
        .join(Certification.product)
        .options(joinedload(Certification.product).joinedload(Product.vendor))
        .where(
            Certification.status == CertStatus.APPROVED,
            or_(
                Certification.valid_until.between(today, horizon),
                Certification.test_report_valid_until.between(today, horizon),
            ),
        )
    )
    if vendor_id is not None:
        stmt = stmt.where(Product.vendor_id == vendor_id)
    found: list[Expiry] = []
    for cert in db.session.scalars(stmt):
        if today <= cert.valid_until <= horizon:
            found.append(
                Expiry("certificate", cert, cert.valid_until, (cert.valid_until - today).days)
            )
        report = cert.test_report_valid_until
        if report is not None and today <= report <= horizon:
            found.append(Expiry("test_report", cert, report, (report - today).days))
    return sorted(found, key=lambda e: (e.expires_on, e.certification.id, e.what))


def recent_notices(today: date, days: int = 30) -> list[Certification]:
    """公示: products certified in the last ``days`` days, newest first."""
    since = today - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Certification)
            .options(joinedload(Certification.product).joinedload(Product.vendor))
            .where(
                Certification.status.in_([CertStatus.APPROVED, CertStatus.SUSPENDED]),
                Certification.certified_on.between(since, today),
            )
            .order_by(Certification.certified_on.desc(), Certification.id.desc())
            .limit(200)
        )
    )


@dataclass
class ProposedShare:
    household: Household
    weight: Decimal
    percent: Decimal  # of the application's total weight, 2 decimals


def proposed_shares(cert: Certification) -> list[ProposedShare]:
    """Each proposed household with its weight and its share of the total weight, for the
    bureau's review (bureau eyes only: it carries the household)."""
    total = sum((h.weight for h in cert.households), Decimal(0))
    return [
        ProposedShare(
            household=h.household,
            weight=h.weight,
            percent=(h.weight * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0),
        )
        for h in cert.households
    ]


def allowed_decisions(cert: Certification) -> set[str]:
    """The bureau decisions the certification's status allows now."""
    return {name for name, statuses in DECISIONS.items() if cert.status in statuses}


def submit_certification(
    actor: User,
    org: Organization,
    product_id: int,
    application: CertificationApplication,
    report_stream=None,
) -> Certification:
    """``apply_for_certification`` with the uploaded test report: the PDF is stored only
    for the vendor's own product and removed again if the application is refused."""
    get_vendor_product(actor, org, product_id)
    report_error = None
    if report_stream is not None:
        try:
            application.test_report_file = files.store_report(report_stream)
        except ValidationError as exc:
            report_error = exc.message
    try:
        return apply_for_certification(actor, org, product_id, application)
    except BaseException as exc:
        if application.test_report_file and application.held_report_id is None:
            files.remove("reports", application.test_report_file)
            application.test_report_file = None
        if report_error and isinstance(exc, ValidationError):
            exc.errors["test_report"] = report_error
        raise


def report_path(actor: User, org: Organization | None, name: str):
    """The stored test report ``name`` and its content type, for bureau reviewers and for
    the vendor whose application carries it; ``NotFound`` for anyone else."""
    located = files.path_for("reports", name)
    if located is None:
        raise NotFound()
    if can(actor, "certifications.review", org):
        return located
    if can(actor, "products.manage", org) and db.session.scalar(
        select(Certification.id)
        .join(Certification.product)
        .where(Certification.test_report_file == name, Product.vendor_id == org.id)
        .limit(1)
    ):
        return located
    raise NotFound()
