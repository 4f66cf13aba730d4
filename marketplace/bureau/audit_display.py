"""The audit log as people read it: actions and objects in words, changes as
``field: old -> new``, timestamps in the display time zone."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..clock import to_local
from ..models import AuditEntry

ACTION_LABELS = {
    "user.register": _l("注册账户"),
    "user.create_admin": _l("创建局管理员"),
    "user.change_password": _l("修改密码"),
    "user.update_profile": _l("修改个人资料"),
    "user.logout_everywhere": _l("退出所有设备"),
    "user.reset_password": _l("重设密码"),
    "user.verify_phone": _l("验证手机号"),
    "user.consent": _l("同意隐私政策"),
    "user.delete": _l("注销账号"),
    "policy.publish": _l("发布隐私政策"),
    "org.apply": _l("申请入驻"),
    "org.verify": _l("审核通过组织"),
    "org.reject": _l("驳回组织申请"),
    "org.add_member": _l("添加成员"),
    "org.remove_member": _l("移除成员"),
    "org.change_role": _l("修改成员角色"),
    "household.update": _l("修改建档立卡户"),
    "product.create": _l("新增产品"),
    "product.update": _l("修改产品"),
    "product.image_add": _l("上传产品图片"),
    "product.image_delete": _l("删除产品图片"),
    "certification.apply": _l("申请产品认定"),
    "certification.approve": _l("认定通过"),
    "certification.reject": _l("认定不通过"),
    "certification.suspend": _l("暂停认定"),
    "certification.reinstate": _l("恢复认定"),
    "certification.revoke": _l("撤销认定"),
    "order.place": _l("下单"),
    "order.paid": _l("订单付款"),
    "order.imported": _l("导入销售"),
    "order.expire": _l("订单超时取消"),
    "order.cancel": _l("取消订单"),
    "order.ship": _l("发货"),
    "order.confirm_receipt": _l("确认收货"),
    "order.refund": _l("退款"),
    "order.late_payment_refunded": _l("迟到付款已退回"),
    "rewards.approve": _l("批准奖补名单"),
    "rewards.assessment": _l("录入收入评定"),
    "pickup_point.create": _l("新增自提点"),
    "pickup_point.update": _l("修改自提点"),
    "pickup_point.activate": _l("启用自提点"),
    "pickup_point.deactivate": _l("停用自提点"),
    "settlement.issue": _l("出具结算单"),
    "settlement.paid": _l("结算单付款"),
}
OBJECT_LABELS = {
    "users": _l("用户"),
    "organizations": _l("组织"),
    "households": _l("建档立卡户"),
    "products": _l("产品"),
    "product_images": _l("产品图片"),
    "certifications": _l("产品认定"),
    "orders": _l("订单"),
    "pickup_points": _l("自提点"),
    "reward_lists": _l("奖补名单"),
    "income_assessments": _l("收入评定"),
    "settlement_statements": _l("结算单"),
    "policy_versions": _l("隐私政策"),
    "import": _l("数据导入"),
}
FIELD_LABELS = {
    "status": _l("状态"),
    "name": _l("名称"),
    "price": _l("价格（分）"),
    "amount": _l("金额（分）"),
    "reason": _l("原因"),
    "role": _l("角色"),
    "certificate_no": _l("证书编号"),
    "certified_on": _l("认定日期"),
    "valid_until": _l("有效期至"),
    "risk_light": _l("风险灯"),
    "members": _l("人口数"),
    "head_name": _l("户主"),
    "net": _l("应付净额（分）"),
    "period": _l("结算期"),
    "bank_ref": _l("银行流水号"),
    "paid_on": _l("付款日期"),
}
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def action_label(action: str) -> str:
    if action.startswith("import."):
        return _("数据导入：%(name)s", name=action.removeprefix("import."))
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def object_label(entry: AuditEntry) -> str:
    kind = OBJECT_LABELS.get(entry.object_type)
    text = str(kind) if kind is not None else entry.object_type
    return f"{text} {entry.object_id}" if entry.object_id else text


def _value(value) -> str:
    """A stored value as people read it: a UTC moment in the display zone."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        return to_local(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def change_lines(changes) -> list[str]:
    """``{"status": {"old": "a", "new": "b"}}`` -> ``["状态: a -> b"]``."""
    if not isinstance(changes, dict):
        return [] if changes in (None, "") else [_value(changes)]
    lines = []
    for field, change in changes.items():
        label = FIELD_LABELS.get(field)
        name = str(label) if label is not None else field
        if isinstance(change, dict) and set(change) == {"old", "new"}:
            lines.append(f"{name}: {_value(change['old'])} -> {_value(change['new'])}")
        elif isinstance(change, dict):
            inner = "; ".join(f"{k}={_value(v)}" for k, v in change.items())
            lines.append(f"{name}: {inner}")
        else:
            lines.append(f"{name}: {_value(change)}")
    return lines


def entry_row(entry: AuditEntry) -> list:
    """One entry as an export row."""
    return [
        to_local(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_label,
        action_label(entry.action),
        object_label(entry),
        "\n".join(change_lines(entry.changes)),
        entry.reason or "",
    ]


def export_header() -> list[str]:
    return [_("时间"), _("操作人"), _("操作"), _("对象"), _("变更"), _("原因")]
