"""到货提醒 (restock alerts): a signed-in buyer asks to be told when a sold-out product
can be bought again; when the stock engine sees units available at its warehouse again
(a receipt, a refund restock, a correction, a released reservation), it tells
``stock_returned`` through the kernel's registry, and each waiting subscriber gets one
inbox notice and one e-mail. A subscription is claimed by a guarded update before
anyone is told, so two stock changes at once never tell a buyer twice."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select, update

from marketplace.clock import to_local
from marketplace.extensions import db
from marketplace.models import User, utcnow
from marketplace.notifications.services import Notice, link_to, notify_users
from marketplace.unit_of_work import unit_of_work

from .models import Product, RestockAlert
from .public import get_public_product
from .sellability import sellable_ids, today


def subscribe(user: User, product_id: int) -> RestockAlert:
    """Subscribe ``user`` to ``product_id``'s return (once; again after being told)."""
    product = get_public_product(product_id, today())  # NotFound unless it is on sale
    with unit_of_work():
        alert = db.session.scalar(
            select(RestockAlert)
            .where(RestockAlert.product_id == product.id, RestockAlert.user_id == user.id)
            .with_for_update()
        )
        if alert is None:
            alert = RestockAlert(product_id=product.id, user_id=user.id)
            db.session.add(alert)
        elif alert.notified_at is not None:  # told before: a new round
            alert.round += 1
            alert.notified_at = None
            alert.created_at = utcnow()
    return alert


def unsubscribe(user: User, product_id: int) -> None:
    with unit_of_work():
        db.session.execute(
            update(RestockAlert)
            .where(
                RestockAlert.product_id == product_id,
                RestockAlert.user_id == user.id,
                RestockAlert.notified_at.is_(None),
            )
            .values(notified_at=utcnow())
        )


def is_subscribed(user, product_id: int) -> bool:
    """Whether the user waits for this product's return (for its page)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            select(RestockAlert.id).where(
                RestockAlert.product_id == product_id,
                RestockAlert.user_id == user.id,
                RestockAlert.notified_at.is_(None),
            )
        )
        is not None
    )


def stock_returned(product_ids: Sequence[int]) -> int:
    """Tell every waiting subscriber of these products (those still sellable today)
    that they are back; returns how many were told. Each subscription is claimed (its
    ``notified_at`` set where still empty) and committed before anyone is told."""
    ids = sellable_ids(product_ids, today())
    if not ids:
        return 0
    with unit_of_work():
        claimed = db.session.execute(
            update(RestockAlert)
            .where(RestockAlert.product_id.in_(ids), RestockAlert.notified_at.is_(None))
            .values(notified_at=utcnow())
            .returning(RestockAlert.id, RestockAlert.user_id, RestockAlert.product_id)
            .execution_options(synchronize_session=False)
        ).all()
    told = 0
    for alert_id, user_id, product_id in claimed:
        user, product = db.session.get(User, user_id), db.session.get(Product, product_id)
        if user is None or product is None or not user.active:
            continue
        round_ = db.session.scalar(select(RestockAlert.round).where(RestockAlert.id == alert_id))

        def compose(product=product) -> tuple[str, str]:
            return (
                _("到货提醒：%(name)s 有货了", name=product.name),
                _("您关注的 %(name)s 已经补货，可以下单购买了。", name=product.name),
            )

        told += notify_users(
            [user],
            Notice(
                kind="product.restocked",
                compose=compose,
                link=link_to("catalog.product_detail", product_id=product.id),
                key=f"restock:{alert_id}:{round_}",
            ),
        )
    return told


class RestockPersonalData:
    """The catalogue's share of a person's data (the kernel's ``personal_data``
    registry): their 到货提醒 subscriptions, shown in "download my data" and deleted
    with the account."""

    def export(self, user: User) -> dict:
        alerts = db.session.scalars(
            select(RestockAlert).where(RestockAlert.user_id == user.id).order_by(RestockAlert.id)
        )
        return {
            "restock_alerts": [
                {
                    "product": alert.product.name,
                    "subscribed_at": to_local(alert.created_at).isoformat(),
                    "notified_at": to_local(alert.notified_at).isoformat()
                    if alert.notified_at
                    else None,
                }
                for alert in alerts
            ]
        }

    def open_obligations(self, user: User) -> list[str]:
        return []  # a subscription never holds anything up

    def erase(self, user: User) -> tuple[dict[str, int], None]:
        removed = db.session.execute(
            RestockAlert.__table__.delete().where(RestockAlert.user_id == user.id)
        ).rowcount
        return {"restock_alerts": removed}, None
