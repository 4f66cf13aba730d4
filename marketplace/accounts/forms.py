from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..web import cn_mobile


class RegisterForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("手机号（选填）"), validators=[Optional(), cn_mobile()])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField(
        _l("确认密码"), validators=[DataRequired(), EqualTo("password", _l("两次输入的密码不一致"))]
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])
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
