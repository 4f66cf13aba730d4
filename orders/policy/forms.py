"""Forms of the reward pages: field shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from marketplace.money import MoneyError, parse_yuan


def _yuan_field(form, field) -> None:
    try:
        field.fen = parse_yuan(field.data or "", allow_zero=True)
    except MoneyError as exc:
        raise ValidationError(str(exc.args[0])) from None


class ApproveListForm(FlaskForm):
    """The figures the person approves, as shown: refused if the list changed since."""

    count = HiddenField(validators=[DataRequired()])
    payable = HiddenField(validators=[DataRequired()])

    def expected(self) -> tuple[int, int] | None:
        try:
            return int(self.count.data), int(self.payable.data)
        except (TypeError, ValueError):
            return None


class AssessmentForm(FlaskForm):
    household_code = StringField(
        _l("户编码"), validators=[DataRequired(_l("请填写户编码")), Length(max=50)]
    )
    year = IntegerField(
        _l("年度"),
        validators=[DataRequired(_l("请填写年度")), NumberRange(min=2000, max=2100)],
    )
    net_income = StringField(
        _l("农业纯收入（元）"), validators=[DataRequired(_l("请填写收入")), _yuan_field]
    )
    assessed_by = StringField(_l("评定人"), validators=[Optional(), Length(max=100)])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=500)])
