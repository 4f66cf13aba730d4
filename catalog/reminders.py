"""Certificate reminders (`flask certifications remind`, daily from cron).

A certificate or test report reminds its vendor when 90, 30 and 7 days are left and
again once it has expired; each reminder goes out once (its key is kept with the inbox
notice, so a second run the same day, or the next day in the same band, sends nothing).
A certificate already renewed (the product holds an approved one that runs longer) is
not reminded. The bureau's staff get one list a day of what was newly reminded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import Membership, Organization, OrgKind, OrgStatus, Role, User
from marketplace.notifications.services import Notice, link_to, notify_org, notify_users

from .certification import EXPIRY_WINDOWS
from .models import Certification, CertStatus, Product

EXPIRED_LOOKBACK_DAYS = 30  # an expiry missed by the job is still reported this long


@dataclass(frozen=True)
class Reminder:
    what: str  # "certificate" or "test_report"
    certification: Certification
    expires_on: date
    days_left: int  # negative once expired

    @property
    def band(self) -> str:
        if self.days_left < 0:
            return "expired"
        return str(next(w for w in EXPIRY_WINDOWS if self.days_left <= w))

    @property
    def key(self) -> str:
        return (
            f"cert-expiry:{self.certification.id}:{self.what}:"
            f"{self.expires_on.isoformat()}:{self.band}"
        )


def due_reminders(today: date) -> list[Reminder]:
    """Every certificate and test report in a reminder band on ``today``, soonest first."""
    horizon = today + timedelta(days=max(EXPIRY_WINDOWS))
    since = today - timedelta(days=EXPIRED_LOOKBACK_DAYS)
    certs = list(
        db.session.scalars(
            select(Certification)
            .options(joinedload(Certification.product).joinedload(Product.vendor))
            .where(
                Certification.status == CertStatus.APPROVED,
                or_(
                    Certification.valid_until.between(since, horizon),
                    Certification.test_report_valid_until.between(since, horizon),
                ),
            )
        )
    )
    longest = dict(
        db.session.execute(
            select(Certification.product_id, func.max(Certification.valid_until))
            .where(
                Certification.status == CertStatus.APPROVED,
                Certification.product_id.in_({c.product_id for c in certs}),
            )
            .group_by(Certification.product_id)
        ).all()
    )
    found = []
    for cert in certs:
        if cert.valid_until < longest.get(cert.product_id, cert.valid_until):
            continue  # renewed: the newer certificate reminds in its time
        for what, until in (
            ("certificate", cert.valid_until),
            ("test_report", cert.test_report_valid_until),
        ):
            if until is None or not since <= until <= horizon:
                continue
            if what == "test_report" and until > cert.valid_until:
                continue  # the certificate ends first and is reminded itself
            # valid_until is the last valid day: expired from the day after
            days_left = (until - today).days
            found.append(Reminder(what, cert, until, days_left))
    return sorted(found, key=lambda r: (r.expires_on, r.certification.id, r.what))


def _compose(reminder: Reminder):
    cert, product = reminder.certification, reminder.certification.product

    def compose() -> tuple[str, str]:
        thing = (
            _("认定证书 %(no)s", no=cert.certificate_no or "")
            if reminder.what == "certificate"
            else _("检测报告")
        )
        if reminder.days_left < 0:
            title = _("%(product)s 的%(thing)s已过期", product=product.name, thing=thing)
            body = _(
                "%(thing)s已于 %(day)s 到期，产品已不能销售。请尽快申请复审。",
                thing=thing,
                day=reminder.expires_on.isoformat(),
            )
        else:
            title = _(
                "%(product)s 的%(thing)s还有 %(n)d 天到期",
                product=product.name,
                thing=thing,
                n=reminder.days_left,
            )
            body = _(
                "%(thing)s有效期至 %(day)s。到期后产品将不能销售，请及时申请复审或更新检测报告。",
                thing=thing,
                day=reminder.expires_on.isoformat(),
            )
        return title, body

    return compose


def bureau_staff() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .join(Organization, Organization.id == Membership.org_id)
            .where(
                Organization.kind == OrgKind.BUREAU,
                Organization.status == OrgStatus.VERIFIED,
                Membership.role.in_([Role.ADMIN, Role.STAFF]),
                User.active.is_(True),
            )
            .distinct()
            .order_by(User.id)
        )
    )


@dataclass
class RemindResult:
    sent: int  # reminders newly delivered to a vendor
    vendors: int
    bureau_told: int  # bureau staff who got today's list


def send_reminders(today: date) -> RemindResult:
    """Deliver the reminders due on ``today`` that have not been delivered before."""
    sent: list[Reminder] = []
    for reminder in due_reminders(today):
        vendor = reminder.certification.product.vendor
        notice = Notice(
            kind="certification.expiry",
            compose=_compose(reminder),
            link=link_to("catalog.vendor_certify", product_id=reminder.certification.product_id),
            key=reminder.key,
            sms=reminder.band in ("7", "expired"),
        )
        if notify_org(vendor, notice):
            sent.append(reminder)
    told = 0
    if sent:

        def digest() -> tuple[str, str]:
            title = _("%(day)s 证书到期提醒：%(n)d 项", day=today.isoformat(), n=len(sent))
            lines = [
                f"{r.expires_on.isoformat()}  "
                + (_("已过期") if r.days_left < 0 else _("%(n)d 天", n=r.days_left))
                + f"  {r.certification.certificate_no or '-'}  {r.certification.product.name}"
                f"  ({r.certification.product.vendor.name})"
                + ("" if r.what == "certificate" else "  " + _("检测报告"))
                for r in sent
            ]
            return title, "\n".join(lines)

        told = notify_users(
            bureau_staff(),
            Notice(
                kind="certification.expiry_list",
                compose=digest,
                link=link_to("catalog.certifications_expiring"),
                key=f"cert-expiry-list:{today.isoformat()}",
            ),
        )
    vendors = len({r.certification.product.vendor_id for r in sent})
    return RemindResult(len(sent), vendors, told)
