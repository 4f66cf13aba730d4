"""Stock forms: field shape only; the services enforce the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.web import optional_id

from .models import AdjustmentReason, MovementKind

MAX_UNITS = 10**7

REASON_LABELS = {
    AdjustmentReason.COUNT_CORRECTION: _l("盘点更正"),
    AdjustmentReason.DAMAGED: _l("损坏"),
    AdjustmentReason.SPOILED: _l("变质"),
    AdjustmentReason.RETURNED_TO_PRODUCER: _l("退回农户"),
}
MOVEMENT_LABELS = {
    MovementKind.RECEIPT: _l("入库"),
    MovementKind.SALE: _l("售出"),
    MovementKind.RESERVATION: _l("预留"),
    MovementKind.RELEASE: _l("释放预留"),
    MovementKind.ADJUSTMENT: _l("调整"),
    MovementKind.TRANSFER_OUT: _l("调出"),
    MovementKind.TRANSFER_IN: _l("调入"),
    MovementKind.REFUND_RESTOCK: _l("退款回库"),
}
STATUS_LABELS = {
    "in_stock": _l("有货"),
    "low": _l("库存紧张"),
    "sold_out": _l("已售罄"),
}


class _LocationMixin:
    # choices are the vendor's locations; the service scopes the id (another vendor's is 404)
    location_id = SelectField(_l("库存位置"), coerce=optional_id, validate_choice=False)


class ReceiveForm(_LocationMixin, FlaskForm):
    quantity = IntegerField(
        _l("入库数量"),
        validators=[
            InputRequired(_l("请填写入库数量")),
            NumberRange(min=1, max=MAX_UNITS, message=_l("入库数量必须大于零")),
        ],
    )
    note = TextAreaField(
        _l("备注"),
        validators=[Length(max=500)],
        description=_l("例如：6 月 12 日收购自建群村 5 户农户的妃子笑荔枝批次"),
    )


class AdjustForm(_LocationMixin, FlaskForm):
    mode = RadioField(
        _l("调整方式"),
        choices=[
            SelectChoice("delta", _l("增减数量（负数为减少）")),
            SelectChoice("count", _l("盘点后的实际数量")),
        ],
        default="delta",
        validators=[InputRequired()],
    )
    quantity = IntegerField(
        _l("数量"),
        validators=[
            InputRequired(_l("请填写数量")),
            NumberRange(min=-MAX_UNITS, max=MAX_UNITS),
        ],
    )
    reason = SelectField(
        _l("调整原因"),
        choices=[
            SelectChoice("", _l("请选择…")),
            *(SelectChoice(k, v) for k, v in REASON_LABELS.items()),
        ],
        validators=[DataRequired(_l("请选择调整原因"))],
    )
    note = TextAreaField(_l("备注"), validators=[Length(max=500)])


class SettingsForm(FlaskForm):
    low_threshold = IntegerField(
        _l("低库存阈值"),
        validators=[InputRequired(_l("请填写阈值")), NumberRange(min=0, max=MAX_UNITS)],
        description=_l("可售数量不高于此值时显示“库存紧张”并列入提醒。"),
    )
    show_exact = BooleanField(_l("在产品页公开显示准确库存数量"))


class StockImportForm(FlaskForm):
    file = FileField(_l("CSV 或 XLSX 文件"), validators=[FileRequired(_l("请选择文件"))])
    dry_run = BooleanField(_l("仅检查，不写入"))
