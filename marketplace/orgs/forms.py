from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..web import cn_mobile

KIND_LABELS = {
    "bureau": _l("乡村振兴局"),
    "cooperative": _l("农民专业合作社"),
    "enterprise": _l("企业"),
    "household": _l("家庭农场/农户"),
    "other": _l("其他销售主体"),
    "agency": _l("预算单位（机关事业单位）"),
    "fair_organizer": _l("集市主办方"),
    "retailer": _l("商超（扶贫专柜）"),
}
ROLE_LABELS = {
    "admin": _l("管理员"),
    "staff": _l("工作人员"),
    "buyer": _l("采购员"),
    "approver": _l("审批人"),
}
STATUS_LABELS = {"pending": _l("待审核"), "verified": _l("已认证"), "rejected": _l("已驳回")}


class OrgApplicationForm(FlaskForm):
    name = StringField(_l("组织名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("组织类型"),
        choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items() if k != "bureau"],
    )
    credit_code = StringField(
        _l("统一社会信用代码"),
        validators=[DataRequired(), Length(min=18, max=18, message=_l("应为 18 位"))],
    )
    contact_name = StringField(_l("联系人"), validators=[DataRequired(), Length(max=100)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(), cn_mobile()])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("简介"), validators=[Optional(), Length(max=2000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("驳回理由"), validators=[DataRequired(), Length(max=2000)])


class AddMemberForm(FlaskForm):
    email = EmailField(_l("成员邮箱"), validators=[DataRequired(), Email()])
    role = SelectField(_l("角色"))


class RoleForm(FlaskForm):
    role = SelectField(_l("角色"))
