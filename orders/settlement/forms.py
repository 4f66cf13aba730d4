"""Forms of the settlement pages: field shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class IssueForm(FlaskForm):
    month = StringField(
        _l("结算月份"),
        validators=[
            DataRequired(_l("请选择结算月份")),
            Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("月份格式应为 YYYY-MM")),
        ],
    )


class PaidForm(FlaskForm):
    bank_ref = StringField(
        _l("银行流水号"), validators=[DataRequired(_l("请填写银行流水号")), Length(max=100)]
    )
    paid_on = DateField(_l("付款日期"), validators=[DataRequired(_l("请填写付款日期"))])
