"""Forms of the vendor's fulfilment pages and the bureau's after-sales and pick-up point
pages: field shape only. The refund quantities are one field per order line, read by
the view from ``qty-<line id>``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as WTFormsValidationError

from marketplace.money import MoneyError, parse_yuan
from orders.shop.models import PickupKind, ShipmentStatus

SHIPMENT_FILTERS = {
    ShipmentStatus.PENDING.value: _l("待发货"),
    ShipmentStatus.SHIPPED.value: _l("已发货"),
    ShipmentStatus.AT_STATION.value: _l("到站待取"),
    ShipmentStatus.RECEIVED.value: _l("已收货"),
    ShipmentStatus.CANCELLED.value: _l("已取消"),
}
PICKUP_KINDS = {
    PickupKind.VILLAGE_STATION.value: _l("村级电商服务站"),
    PickupKind.TOWN_CENTRE.value: _l("镇级电商服务中心"),
}
# suggestions for the carrier field (any other name may be typed)
CARRIERS = [
    _l("顺丰速运"),
    _l("中国邮政 EMS"),
    _l("京东物流"),
    _l("中通快递"),
    _l("圆通速递"),
    _l("韵达快递"),
    _l("极兔速递"),
    _l("商家自送到服务站"),
]


class ShipForm(FlaskForm):
    # both checked by the service: a pick-up order delivered to the station needs neither
    carrier = StringField(_l("快递公司"), validators=[Optional(), Length(max=50)])
    # not needed when the vendor delivers a pick-up order to the station itself
    tracking_no = StringField(_l("运单号"), validators=[Optional(), Length(max=60)])


class CancelPartForm(FlaskForm):
    reason = TextAreaField(
        _l("取消原因"),
        validators=[DataRequired(_l("请填写取消原因")), Length(max=500)],
        description=_l("例如：台风导致本批荔枝受损，无法按时发货。买家会看到这个原因。"),
    )


class RefundForm(FlaskForm):
    reason = TextAreaField(
        _l("退款原因"),
        validators=[DataRequired(_l("请填写退款原因")), Length(max=500)],
        description=_l("例如：买家反映到货时部分果实腐烂，附照片核实。"),
    )
    # one refund per rendered form: a second submission of the same form refunds nothing
    token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


class PickupPointForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写此项")), Length(max=200)])
    kind = SelectField(
        _l("类型"),
        choices=[SelectChoice(code, label) for code, label in PICKUP_KINDS.items()],
        validators=[DataRequired()],
    )
    district = StringField(_l("区/县"), validators=[DataRequired(_l("请填写此项")), Length(max=50)])
    town = StringField(_l("镇"), validators=[DataRequired(_l("请填写此项")), Length(max=50)])
    village = StringField(
        _l("村"),
        validators=[Optional(), Length(max=50)],
        description=_l("村级电商服务站必填"),
    )
    address = StringField(
        _l("详细地址"), validators=[DataRequired(_l("请填写此项")), Length(max=300)]
    )
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=30)])


class CollectForm(FlaskForm):
    code = StringField(
        _l("取件码"),
        validators=[DataRequired(_l("请输入取件码")), Length(max=20)],
        description=_l("扫描或输入买家出示的 6 位取件码"),
    )


class StaffForm(FlaskForm):
    email = StringField(
        _l("工作人员邮箱"), validators=[DataRequired(_l("请填写此项")), Length(max=254)]
    )


def line_quantities(form_data, lines) -> dict[int, int]:
    """``qty-<line id>`` of a posted form, for these order lines only; a blank or
    malformed entry counts as 0 (a negative one is kept, for the service to refuse)."""
    asked = {}
    for line in lines:
        raw = (form_data.get(f"qty-{line.id}") or "").strip()
        try:
            asked[line.id] = int(raw) if raw else 0
        except ValueError:
            asked[line.id] = 0
    return asked


class TrackingUploadForm(FlaskForm):
    file = FileField(_l("CSV 或 XLSX 文件"), validators=[FileRequired(_l("请选择文件"))])
    dry_run = BooleanField(_l("仅检查，不写入"))


class ShippingRuleForm(FlaskForm):
    """The vendor's shipping rule: amounts in yuan as typed (parsed by the view's form
    validators into fen), provinces as free text."""

    flat_fee = StringField(
        _l("每单运费（元）"),
        validators=[DataRequired(), Length(max=12)],
        description=_l("每个订单中本店商品的运费；填 0 表示一律包邮"),
    )
    free_from = StringField(
        _l("满额包邮（元）"),
        validators=[Optional(), Length(max=12)],
        description=_l("本店商品金额达到此金额即免运费（恰好等于也包邮）；留空表示不设满额包邮"),
    )
    no_fresh_provinces = TextAreaField(
        _l("不配送生鲜的地区（省份）"),
        validators=[Optional(), Length(max=1000)],
        description=_l(
            "用逗号或顿号分隔，例如：西藏自治区、新疆维吾尔自治区。到服务站自提不受限制"
        ),
    )

    flat_fee_fen: int = 0
    free_from_fen: int | None = None

    def validate_flat_fee(self, field):
        self.flat_fee_fen = _fen(field.data)

    def validate_free_from(self, field):
        self.free_from_fen = _fen(field.data) if (field.data or "").strip() else None


def _fen(text: str) -> int:
    try:
        return parse_yuan(text or "")
    except MoneyError as exc:
        raise WTFormsValidationError(str(exc.args[0])) from None
