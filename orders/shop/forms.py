"""Forms of the online shop: field shape only. Prices are never a field: the server
always takes them from the product."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.web import cn_mobile, id_field_range, id_or_zero
from orders.shop.cart import MAX_QUANTITY
from orders.shop.models import AfterSalesKind, DeliveryMethod

NEW_ADDRESS = 0  # the address choice "enter a new address"


class CartAddForm(FlaskForm):
    product_id = IntegerField(validators=[InputRequired(), id_field_range()])
    quantity = IntegerField(
        _l("数量"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)],
    )
    next = HiddenField()


class CartUpdateForm(FlaskForm):
    product_id = IntegerField(validators=[InputRequired(), id_field_range()])
    quantity = IntegerField(
        _l("数量"), validators=[InputRequired(), NumberRange(min=0, max=MAX_QUANTITY)]
    )


class CartRemoveForm(FlaskForm):
    product_id = IntegerField(validators=[InputRequired(), id_field_range()])


class CheckoutForm(FlaskForm):
    """Delivery to a saved address, to a new one (optionally saved), or pick-up at a
    village station / town centre. ``token`` is the one-time checkout token."""

    token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    delivery_method = RadioField(
        _l("配送方式"),
        choices=[
            SelectChoice(DeliveryMethod.ADDRESS.value, _l("快递到家")),
            SelectChoice(DeliveryMethod.PICKUP.value, _l("到服务站自提")),
        ],
        default=DeliveryMethod.ADDRESS.value,
        validators=[InputRequired()],
    )
    address_id = RadioField(
        _l("收货地址"), coerce=id_or_zero, choices=[], validate_choice=False, default=NEW_ADDRESS
    )
    recipient = StringField(_l("收货人"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("手机号"), validators=[Optional(), cn_mobile()])
    province = StringField(_l("省"), validators=[Optional(), Length(max=50)], default="海南省")
    city = StringField(_l("市"), validators=[Optional(), Length(max=50)], default="海口市")
    district = StringField(_l("区/县"), validators=[Optional(), Length(max=50)])
    detail = StringField(_l("详细地址"), validators=[Optional(), Length(max=300)])
    save_address = BooleanField(_l("保存到我的收货地址"), default=True)
    pickup_point_id = SelectField(
        _l("自提点"), coerce=id_or_zero, choices=[], validate_choice=False, default=0
    )
    pickup_phone = StringField(
        _l("取货人手机号"),
        validators=[Optional(), cn_mobile()],
        description=_l("服务站凭手机号和取件码交货"),
    )

    NEW_ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "detail")

    def wants_new_address(self) -> bool:
        return (
            self.delivery_method.data == DeliveryMethod.ADDRESS
            and self.address_id.data == NEW_ADDRESS
        )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.wants_new_address():
            for name in self.NEW_ADDRESS_FIELDS:
                field = self[name]
                if not (field.data or "").strip():
                    field.errors = [*field.errors, _l("请填写此项")]
                    ok = False
        if self.delivery_method.data == DeliveryMethod.PICKUP:
            if not self.pickup_point_id.data:
                self.pickup_point_id.errors = [*self.pickup_point_id.errors, _l("请选择自提点")]
                ok = False
            if not (self.pickup_phone.data or "").strip():
                self.pickup_phone.errors = [
                    *self.pickup_phone.errors,
                    _l("自提需要填写取货人手机号"),
                ]
                ok = False
        return ok


class CancelOrderForm(FlaskForm):
    reason = TextAreaField(_l("取消原因（选填）"), validators=[Optional(), Length(max=500)])


class TestPaymentForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=1000)])


class AfterSalesForm(FlaskForm):
    """A buyer's request about a shipped part; quantities are ``qty-<line id>``."""

    kind = RadioField(
        _l("售后类型"),
        choices=[
            SelectChoice(AfterSalesKind.REFUND.value, _l("仅退款（不退货）")),
            SelectChoice(AfterSalesKind.RETURN.value, _l("退货退款")),
        ],
        default=AfterSalesKind.REFUND.value,
        validators=[InputRequired()],
    )
    reason = TextAreaField(
        _l("售后原因"), validators=[DataRequired(_l("请填写售后原因")), Length(max=1000)]
    )
    photos = MultipleFileField(_l("照片（选填，最多 5 张）"))


class ReturnShippedForm(FlaskForm):
    carrier = StringField(_l("快递公司"), validators=[DataRequired(), Length(max=50)])
    tracking_no = StringField(_l("运单号"), validators=[DataRequired(), Length(max=60)])


class AcceptForm(FlaskForm):
    return_address = StringField(
        _l("退货地址"),
        validators=[Optional(), Length(max=300)],
        description=_l("退货退款时必填：收件人、电话和地址"),
    )


class RefuseForm(FlaskForm):
    refuse_reason = TextAreaField(
        _l("拒绝原因"), validators=[DataRequired(_l("请填写拒绝原因")), Length(max=1000)]
    )


class ArbitrateForm(FlaskForm):
    decision = RadioField(
        _l("处理结果"),
        choices=[SelectChoice("refund", _l("支持退款")), SelectChoice("close", _l("驳回申请"))],
        validators=[InputRequired()],
    )
    note = TextAreaField(
        _l("处理意见"), validators=[DataRequired(_l("请填写处理意见")), Length(max=1000)]
    )
