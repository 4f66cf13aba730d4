"""How a stock movement reads to people: what it belongs to ("订单 O-...", "批量导入")
and who caused it, in words. A buyer is never named (no e-mail address on a vendor's
page or file): the order number says which sale it was."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Membership, Organization, OrgKind, User

from .models import StockMovement

REF_LABELS = {
    "order": _l("订单"),
    "import": _l("批量导入"),
    "manual": _l("手工操作"),
    "demo": _l("演示数据"),
    "fair": _l("集市"),
    "counter": _l("专柜"),
    "test": _l("测试"),
}
# the labels the system writes when no person acted
ACTOR_LABELS = {
    "payment": _l("付款确认（系统）"),
    "expiry": _l("超时未付款，自动取消（系统）"),
    "system": _l("系统"),
    "cli": _l("命令行"),
    "demo": _l("演示数据"),
}


def ref_text(movement: StockMovement) -> str:
    if not movement.ref_type:
        return ""
    label = str(REF_LABELS.get(movement.ref_type, movement.ref_type))
    if movement.ref_type in ("order", "fair", "counter") and movement.ref_id:
        return f"{label} {movement.ref_id}"
    return label


def actor_texts(movements: Iterable[StockMovement], org: Organization) -> dict[int, str]:
    """Who caused each movement, by movement id: a member of the vendor by name, bureau
    staff as the bureau, anyone else (a buyer) as 买家, the system in words."""
    movements = list(movements)
    ids = {m.actor_id for m in movements if m.actor_id}
    names: dict[int, str] = {}
    bureau: set[int] = set()
    if ids:
        for user_id, name, org_id, kind in db.session.execute(
            select(User.id, User.name, Membership.org_id, Organization.kind)
            .join(Membership, Membership.user_id == User.id)
            .join(Organization, Organization.id == Membership.org_id)
            .where(User.id.in_(ids))
        ):
            if org_id == org.id:
                names[user_id] = name
            elif kind == OrgKind.BUREAU:
                bureau.add(user_id)
    texts = {}
    for m in movements:
        if m.actor_id in names:
            texts[m.id] = names[m.actor_id]
        elif m.actor_id in bureau:
            texts[m.id] = _("乡村振兴局")
        elif m.actor_id is not None or "@" in (m.actor_label or ""):
            texts[m.id] = _("买家")
        else:
            texts[m.id] = str(ACTOR_LABELS.get(m.actor_label, m.actor_label))
    return texts
