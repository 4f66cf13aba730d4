"""Bureau pages for certification (认定): the review queue, one application's review with
its decisions, and the expiry reminders."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.authz import org_required
from marketplace.errors import IllegalTransition, ValidationError
from marketplace.pagination import paginate
from marketplace.publication import personal_data
from marketplace.web import flash_form_errors, page_arg, page_size

from . import bp, certification, sellability
from .forms import BENEFIT_MODE_LABELS, CERT_STATUS_LABELS
from .models import CertStatus

EXPIRY_LABELS = {"certificate": _l("认定证书"), "test_report": _l("检测报告")}
REVIEW = "certifications.review"


class ApproveForm(FlaskForm):
    certificate_no = StringField(
        _l("证书编号"), validators=[DataRequired(_l("请填写证书编号")), Length(max=60)]
    )
    certified_on = DateField(_l("认定日期"), validators=[DataRequired(_l("请填写认定日期"))])
    valid_until = DateField(_l("有效期至"), validators=[DataRequired(_l("请填写有效期截止日"))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("理由"), validators=[DataRequired(_l("请填写理由")), Length(max=1000)]
    )


DECISIONS = {
    "reject": (certification.reject_certification, _l("已驳回认定申请。")),
    "suspend": (certification.suspend_certification, _l("已暂停该产品的认定，产品已停止销售。")),
    "reinstate": (certification.reinstate_certification, _l("已恢复该产品的认定。")),
    "revoke": (certification.revoke_certification, _l("已撤销该产品的认定。")),
}


def _labels() -> dict:
    return {
        "CERT_STATUS_LABELS": CERT_STATUS_LABELS,
        "BENEFIT_MODE_LABELS": BENEFIT_MODE_LABELS,
        "EXPIRY_LABELS": EXPIRY_LABELS,
    }


@bp.route("/bureau/certifications")
@org_required(REVIEW)
def certification_queue():
    status = request.args.get("status", CertStatus.PENDING)
    if status not in (*CERT_STATUS_LABELS, "all"):
        status = CertStatus.PENDING
    stmt = certification.certification_queue(current_user, g.org, "" if status == "all" else status)
    page = paginate(stmt, page_arg(), page_size())
    return render_template(
        "catalog/certification_queue.html", page=page, status=status, **_labels()
    )


@bp.route("/bureau/certifications/<int:cert_id>")
@personal_data
@org_required(REVIEW)
def certification_review(cert_id: int):
    cert = certification.get_certification(current_user, g.org, cert_id)
    approve_form = ApproveForm()
    if not approve_form.certified_on.data:
        approve_form.certified_on.data = sellability.today()
    # suggestions the reviewer may change: the next number in the bureau's pattern and
    # the configured validity
    if not approve_form.certificate_no.data:
        approve_form.certificate_no.data = certification.suggested_certificate_no(
            current_app.config["CERTIFICATE_NO_PATTERN"], approve_form.certified_on.data
        )
    if not approve_form.valid_until.data:
        approve_form.valid_until.data = certification.suggested_validity(
            approve_form.certified_on.data, current_app.config["CERTIFICATE_VALID_YEARS"]
        )
    return render_template(
        "catalog/certification_review.html",
        cert=cert,
        product=cert.product,
        shares=certification.proposed_shares(cert),
        allowed=certification.allowed_decisions(cert),
        approve_form=approve_form,
        reason_form=ReasonForm(),
        **_labels(),
    )


@bp.route("/bureau/certifications/<int:cert_id>/approve", methods=["POST"])
@org_required(REVIEW)
def certification_approve(cert_id: int):
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            cert = certification.approve_certification(
                current_user,
                g.org,
                cert_id,
                certificate_no=form.certificate_no.data,
                certified_on=form.certified_on.data,
                valid_until=form.valid_until.data,
            )
        except (IllegalTransition, ValidationError) as exc:
            flash(exc.message, "danger")
        else:
            flash(_("已批准认定，证书编号 %(no)s。", no=cert.certificate_no), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("catalog.certification_review", cert_id=cert_id))


@bp.route(
    "/bureau/certifications/<int:cert_id>/<any(reject, suspend, reinstate, revoke):decision>",
    methods=["POST"],
)
@org_required(REVIEW)
def certification_decide(cert_id: int, decision: str):
    decide, done = DECISIONS[decision]
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            decide(current_user, g.org, cert_id, form.reason.data)
        except (IllegalTransition, ValidationError) as exc:
            flash(exc.message, "danger")
        else:
            flash(str(done), "success")
    return redirect(url_for("catalog.certification_review", cert_id=cert_id))


@bp.route("/bureau/certifications/expiring")
@org_required(REVIEW)
def certifications_expiring():
    found = certification.expiring(sellability.today(), 90)
    bands = {
        window: [e for e in found if e.band == window] for window in certification.EXPIRY_WINDOWS
    }
    return render_template(
        "catalog/certifications_expiring.html", bands=bands, total=len(found), **_labels()
    )
