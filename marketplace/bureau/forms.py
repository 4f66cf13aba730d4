from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

STATUS_LABELS = {
    "poor": _l("未脱贫"),
    "alleviated": _l("已脱贫"),
    "edge": _l("边缘户"),
    "monitored": _l("脱贫监测户"),
    "general": _l("一般户"),
}
RISK_LABELS = {"red": _l("红灯"), "yellow": _l("黄灯"), "green": _l("绿灯")}


def _choices(labels: dict) -> list[SelectChoice]:
    # WTForms 3.3 deprecates (value, label) tuples
    return [SelectChoice(value, label) for value, label in labels.items()]


class HouseholdEditForm(FlaskForm):
    status = SelectField(_l("状态"), choices=_choices(STATUS_LABELS))
    risk_light = SelectField(_l("返贫预警"), choices=_choices(RISK_LABELS))
    reason = StringField(_l("变更说明"), validators=[Optional(), Length(max=500)])


class ImportForm(FlaskForm):
    kind = SelectField(_l("导入内容"))
    file = FileField(_l("CSV 或 XLSX 文件"), validators=[FileRequired(_l("请选择文件"))])
    encoding = SelectField(
        _l("编码"),
        choices=[
            SelectChoice("", _l("自动识别")),
            SelectChoice("utf-8", "UTF-8"),
            SelectChoice("gb18030", "GB18030 / GBK"),
        ],
        validators=[Optional()],
    )
    dry_run = BooleanField(_l("仅校验，不写入"))
