"""Fairs and counters forms: field shape only. Yuan are parsed to fen at the edge."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.money import MoneyError, parse_yuan
from marketplace.web import optional_id


class PlanFairForm(FlaskForm):
    name = StringField(_l("集市名称"), validators=[DataRequired(), Length(max=200)])
    date = DateField(_l("日期"), validators=[DataRequired()])
    starts_at = TimeField(_l("开始时间"), validators=[Optional()])
    ends_at = TimeField(_l("结束时间"), validators=[Optional()])
    venue = StringField(_l("地点"), validators=[DataRequired(), Length(max=200)])
    district = StringField(_l("区"), validators=[DataRequired(), Length(max=50)])
    community = StringField(_l("社区"), validators=[Optional(), Length(max=100)])
    expected_stalls = IntegerField(
        _l("预计摊位数"), validators=[Optional(), NumberRange(min=0, max=10000)]
    )


class FairReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(), Length(max=500)])


class ApplyForm(FlaskForm):
    name = StringField(_l("摊位名称"), validators=[Optional(), Length(max=100)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])


class StallStockForm(FlaskForm):
    action = SelectField(
        _l("操作"),
        choices=[
            SelectChoice("to", _l("调入摊位")),
            SelectChoice("from", _l("调回仓库")),
            SelectChoice("spoiled", _l("损耗：变质")),
            SelectChoice("damaged", _l("损耗：损坏")),
        ],
    )
    product_id = SelectField(_l("产品"), coerce=optional_id, validators=[InputRequired()])
    quantity = IntegerField(_l("数量"), validators=[InputRequired(), NumberRange(min=1, max=10**6)])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=200)])


class StoreForm(FlaskForm):
    name = StringField(_l("门店名称"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])
    district = StringField(_l("区"), validators=[Optional(), Length(max=50)])


class PlaceGoodsForm(FlaskForm):
    store_id = SelectField(_l("门店"), coerce=optional_id, validators=[InputRequired()])
    product_id = SelectField(_l("产品"), coerce=optional_id, validators=[InputRequired()])
    quantity = IntegerField(_l("数量"), validators=[InputRequired(), NumberRange(min=1, max=10**6)])
    action = SelectField(
        _l("操作"),
        choices=[SelectChoice("to", _l("放入专柜")), SelectChoice("from", _l("撤回仓库"))],
        default="to",
    )


def _yuan_field(form, field) -> None:
    try:
        field.fen = parse_yuan(field.data or "", allow_zero=True)
    except MoneyError as exc:
        raise ValidationError(str(exc.args[0])) from None


class CounterReportForm(FlaskForm):
    vendor_id = SelectField(_l("商户"), coerce=optional_id, validators=[InputRequired()])
    period_start = DateField(_l("开始日期"), validators=[DataRequired()])
    period_end = DateField(_l("结束日期"), validators=[DataRequired()])
    product_id = SelectField(_l("产品"), coerce=optional_id, validators=[Optional()])
    quantity = IntegerField(_l("数量"), validators=[Optional(), NumberRange(min=1, max=10**9)])
    amount = StringField(_l("金额（元）"), validators=[Optional(), _yuan_field])
    file = FileField(_l("或上传 CSV / XLSX（列：sku, quantity, amount）"))
