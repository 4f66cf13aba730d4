"""Catalog forms: field shape only. Yuan are parsed to fen here, at the edge."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from flask_wtf.i18n import translations
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.money import MoneyError, parse_yuan
from marketplace.web import optional_id

from .models import MAX_APPLICATION_HOUSEHOLDS, BenefitMode, ProductStatus

COMMON_UNITS = ("斤", "kg", "箱", "只", "瓶", "盒", "袋", "份")
PRODUCT_STATUS_LABELS = {
    ProductStatus.DRAFT: _l("草稿"),
    ProductStatus.ACTIVE: _l("已上架"),
    ProductStatus.ARCHIVED: _l("已下架"),
}
BENEFIT_MODE_LABELS = {
    BenefitMode.WAGE: _l("务工带动"),
    BenefitMode.ASSET: _l("资产收益"),
    BenefitMode.BUSINESS: _l("经营带动"),
    BenefitMode.PURCHASE: _l("订单收购"),
}
CERT_STATUS_LABELS = {
    "pending": _l("待审核"),
    "approved": _l("已认定"),
    "rejected": _l("已驳回"),
    "suspended": _l("已暂停"),
    "revoked": _l("已撤销"),
}
TIER_ROWS = 5
IMAGE_TYPES = "image/jpeg,image/png,image/webp"


def _yuan(text: str | None, *, allow_zero: bool = True) -> int:
    try:
        return parse_yuan(text or "", allow_zero=allow_zero)
    except MoneyError as exc:
        raise ValidationError(str(exc.args[0])) from None


class TierForm(Form):
    """One bulk price row; both cells empty means no tier."""

    class Meta:
        def get_translations(self, form):
            return translations  # WTForms' own messages in the user's language, as FlaskForm

    min_qty = IntegerField(_l("起订数量"), validators=[Optional(), NumberRange(min=2, max=10**7)])
    unit_price = StringField(_l("单价（元）"), validators=[Optional(), Length(max=20)])

    def validate_unit_price(self, field):
        if self.min_qty.data is None and not (field.data or "").strip():
            return
        if self.min_qty.data is None:
            raise ValidationError(_l("请填写起订数量"))
        if not (field.data or "").strip():
            raise ValidationError(_l("请填写单价"))
        _yuan(field.data, allow_zero=False)


class ProductForm(FlaskForm):
    name = StringField(_l("产品名称"), validators=[DataRequired(), Length(max=200)])
    category_id = SelectField(_l("品类"), coerce=int, validators=[InputRequired()])
    description = TextAreaField(_l("产品介绍"), validators=[Optional(), Length(max=5000)])
    specification = StringField(
        _l("规格"),
        validators=[Optional(), Length(max=200)],
        description=_l("例如：500g/袋，12 枚/盒"),
    )
    unit = StringField(
        _l("计量单位"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("可从常用单位中选择，也可直接填写"),
    )
    price = StringField(
        _l("零售价（元）"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("每单位的价格"),
    )
    origin_village_id = SelectField(_l("产地（村）"), coerce=optional_id, validate_choice=False)
    shelf_life = StringField(
        _l("保质期"), validators=[Optional(), Length(max=50)], description=_l("例如：冷藏 7 天")
    )
    is_fresh = BooleanField(
        _l("生鲜商品"),
        description=_l("需冷链或易腐的鲜活产品：可在运费设置中指定不配送的地区"),
    )
    status = SelectField(
        _l("状态"),
        choices=[SelectChoice(k, v) for k, v in PRODUCT_STATUS_LABELS.items()],
        default=ProductStatus.DRAFT,
    )
    min_order_qty = IntegerField(
        _l("预算单位最低起订量"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=10**7)],
    )
    tiers = FieldList(FormField(TierForm), min_entries=TIER_ROWS, max_entries=20)

    def validate_price(self, field):
        self.price_fen = _yuan(field.data, allow_zero=False)

    def validate_origin_village_id(self, field):
        if field.data is not None and field.data not in self.village_ids:
            raise ValidationError(_l("请选择产地"))

    village_groups: tuple = ()
    tiers_error: str | None = None  # a rule across the rows (set by the view)
    village_ids: frozenset[int] = frozenset()

    def set_villages(self, groups: list[tuple[str, list[tuple[int, str]]]]) -> None:
        self.village_groups = groups
        self.village_ids = frozenset(vid for _g, villages in groups for vid, _n in villages)

    def tier_values(self) -> list[tuple[int, int]]:
        """(min_qty, unit price fen) of the filled-in rows; call after validation."""
        return [
            (row.min_qty.data, _yuan(row.unit_price.data))
            for row in self.tiers
            if row.min_qty.data is not None
        ]


class ImageForm(FlaskForm):
    file = FileField(
        _l("上传图片"),
        validators=[FileRequired(_l("请选择图片文件"))],
        description=_l("JPEG、PNG 或 WebP，不超过 5 MB"),
    )


class CertificationForm(FlaskForm):
    benefit_mode = SelectField(
        _l("带贫方式"),
        choices=[SelectChoice(k, v) for k, v in BENEFIT_MODE_LABELS.items()],
        validators=[InputRequired()],
    )
    households = TextAreaField(
        _l("受益农户"),
        validators=[DataRequired(_l("请至少填写一户受益农户"))],
        description=_l(
            "每行一户：户编码,权重（权重可省略，默认为 1）。只能填写本销售主体所在乡镇的"
            "建档立卡户，一次最多 %(n)d 户。",
            n=MAX_APPLICATION_HOUSEHOLDS,
        ),
    )
    expected_annual_value = StringField(
        _l("预计年带动金额（元）"), validators=[DataRequired(), Length(max=20)]
    )
    test_report = FileField(_l("检测报告（PDF）"), description=_l("PDF 文件，不超过 10 MB"))
    # names the PDF sent with an earlier try of this form (catalog.held_reports)
    report_token = HiddenField(validators=[Optional(), Length(max=64)])
    pick_q = StringField(_l("查找农户"), validators=[Optional(), Length(max=50)])
    test_report_valid_until = DateField(
        _l("检测报告有效期至"), validators=[InputRequired(_l("请填写检测报告有效期"))]
    )
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])

    def validate_expected_annual_value(self, field):
        self.expected_fen = _yuan(field.data)

    def validate_households(self, field):
        self.household_lines = parse_household_lines(field.data or "")


def parse_household_lines(text: str) -> list[tuple[str, Decimal]]:
    """'户编码,权重' per line (a Chinese comma, tab or space also separates; the weight
    defaults to 1) -> [(code, weight)]. Blank lines are skipped."""
    result = []
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > MAX_APPLICATION_HOUSEHOLDS:
        raise ValidationError(_l("一次最多填写 %(n)d 户", n=MAX_APPLICATION_HOUSEHOLDS))
    for number, line in enumerate(lines, start=1):
        parts = line.replace("，", ",").replace("\t", ",").split(",")
        if len(parts) == 1:
            parts = line.split()
        parts = [p.strip() for p in parts if p.strip()]
        if not parts or len(parts) > 2 or len(parts[0]) > 50:
            raise ValidationError(_l("第 %(n)d 行格式不对，应为：户编码,权重", n=number))
        weight = Decimal(1)
        if len(parts) == 2:
            try:
                weight = Decimal(parts[1])
            except InvalidOperation:
                weight = Decimal(-1)
            if (
                not weight.is_finite()
                or weight <= 0
                or weight > 10**9
                or weight.as_tuple().exponent < -6
            ):
                raise ValidationError(_l("第 %(n)d 行的权重必须是正数（最多 6 位小数）", n=number))
        result.append((parts[0], weight))
    if not result:
        raise ValidationError(_l("请至少填写一户受益农户"))
    return result


class ProductListImportForm(FlaskForm):
    file = FileField(_l("CSV 或 XLSX 文件"), validators=[FileRequired(_l("请选择文件"))])
    dry_run = BooleanField(_l("仅检查，不写入"))
