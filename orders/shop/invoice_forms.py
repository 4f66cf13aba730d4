"""Forms of e-invoices: field shape only; ``orders.shop.invoices`` checks the rest (the
taxpayer id, the PDF's bytes)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from orders.shop.models import InvoiceTitleKind

TITLE_KIND_CHOICES = [
    SelectChoice(InvoiceTitleKind.PERSONAL.value, _l("个人")),
    SelectChoice(InvoiceTitleKind.COMPANY.value, _l("单位")),
]


class InvoiceRequestForm(FlaskForm):
    title_kind = RadioField(
        _l("抬头类型"),
        choices=TITLE_KIND_CHOICES,
        default=InvoiceTitleKind.PERSONAL.value,
        validators=[InputRequired()],
    )
    title = StringField(
        _l("发票抬头"),
        validators=[DataRequired(_l("请填写发票抬头")), Length(max=200)],
        description=_l("个人填姓名，单位填单位全称"),
    )
    tax_id = StringField(
        _l("纳税人识别号"),
        validators=[Optional(), Length(max=20)],
        description=_l("单位抬头必填：18 位统一社会信用代码或税号"),
    )
    email = StringField(
        _l("接收邮箱"),
        validators=[DataRequired(_l("请填写接收电子发票的邮箱")), Length(max=254)],
    )


class InvoiceIssueForm(FlaskForm):
    invoice_no = StringField(
        _l("发票号码"), validators=[DataRequired(_l("请填写发票号码")), Length(max=40)]
    )
    file = FileField(_l("电子发票 PDF（不超过 5 MB）"))


class InvoiceRejectForm(FlaskForm):
    reason = TextAreaField(
        _l("不能开具的原因"),
        validators=[DataRequired(_l("请填写不能开具的原因")), Length(max=1000)],
    )


class CheckoutInvoiceForm(InvoiceRequestForm):
    """The checkout's optional invoice section (prefix ``invoice``): checked only when
    ``wanted``; the checkout form around it carries the CSRF token."""

    class Meta:
        csrf = False

    wanted = BooleanField(_l("需要电子发票"))
    title_kind = RadioField(
        _l("抬头类型"),
        choices=TITLE_KIND_CHOICES,
        default=InvoiceTitleKind.PERSONAL.value,
        validators=[Optional()],
    )
    title = StringField(
        _l("发票抬头"),
        validators=[Optional(), Length(max=200)],
        description=_l("个人填姓名，单位填单位全称"),
    )
    email = StringField(_l("接收邮箱"), validators=[Optional(), Length(max=254)])
