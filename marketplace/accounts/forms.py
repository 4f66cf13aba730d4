from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from ..web import cn_mobile


class RegisterForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("手机号（选填）"), validators=[Optional(), cn_mobile()])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        _l("确认密码"), validators=[DataRequired(), EqualTo("password", _l("两次输入的密码不一致"))]
    )
    agree = BooleanField(
        _l("我已阅读并同意《隐私政策和用户协议》"),
        validators=[DataRequired(_l("请阅读并同意隐私政策和用户协议"))],
    )


class LoginForm(FlaskForm):
    # the field keeps its name "email": an e-mail address or a verified phone number
    email = StringField(_l("邮箱或手机号"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=128)])
    remember = BooleanField(_l("记住我"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired()])
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[DataRequired(), EqualTo("password", _l("两次输入的密码不一致"))],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("手机号"), validators=[Optional(), cn_mobile()])
    locale = SelectField(
        _l("界面语言"),
        choices=[SelectChoice("zh_CN", "简体中文"), SelectChoice("en", "English")],
    )


class AddressForm(FlaskForm):
    recipient = StringField(_l("收货人"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("手机号"), validators=[DataRequired(), cn_mobile()])
    province = StringField(_l("省"), validators=[DataRequired(), Length(max=50)], default="海南省")
    city = StringField(_l("市"), validators=[DataRequired(), Length(max=50)], default="海口市")
    district = StringField(_l("区/县"), validators=[DataRequired(), Length(max=50)])
    detail = StringField(_l("详细地址"), validators=[DataRequired(), Length(max=300)])
    is_default = BooleanField(_l("设为默认地址"))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("注册邮箱"), validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[DataRequired(), EqualTo("password", _l("两次输入的密码不一致"))],
    )


class PhoneForm(FlaskForm):
    phone = StringField(_l("手机号"), validators=[DataRequired(), cn_mobile()])


class PhoneCodeForm(FlaskForm):
    code = StringField(
        _l("短信验证码"),
        validators=[
            DataRequired(),
            Regexp(r"^\d{6}$", message=_l("验证码是 6 位数字")),
        ],
    )


class PolicyForm(FlaskForm):
    body_zh = TextAreaField(_l("中文文本"), validators=[DataRequired(), Length(max=50000)])
    body_en = TextAreaField(_l("英文文本"), validators=[DataRequired(), Length(max=50000)])
    note = StringField(_l("修改说明（选填）"), validators=[Optional(), Length(max=200)])


class AgreeForm(FlaskForm):
    version = HiddenField()


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=128)])
    confirm = BooleanField(_l("我明白注销后不能恢复"), validators=[DataRequired(_l("请勾选确认"))])
