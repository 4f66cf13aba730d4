"""到货提醒 (issue 13, item 6): a buyer subscribed to a sold-out product is told once
(inbox and e-mail) when its warehouse has units again, whether they came back by a
receipt or a refund restock; nobody is told about another product, nor again for the
same subscription, nor when the change rolled back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from catalog import restock
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.unit_of_work import unit_of_work
from vendors import stock
from vendors.stock import Goods, Ref

from ..factories import UserFactory
from .test_shop_core import stocked_product


def told(user, kind="product.restocked") -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.kind == kind
        )
    )


def sold_out(units: int = 1):
    product = stocked_product(units)
    stock.sell([Goods(product.id, units)], Ref("test"))
    return product


def test_subscribers_are_told_once_when_stock_returns(caplog):
    product, other = sold_out(), sold_out()
    buyer, neighbour, bystander = UserFactory(), UserFactory(), UserFactory()
    restock.subscribe(buyer, product.id)
    restock.subscribe(buyer, product.id)  # twice is still one subscription
    restock.subscribe(neighbour, product.id)
    restock.subscribe(bystander, other.id)

    with caplog.at_level(logging.INFO, logger="marketplace.mail"):
        stock.receive([Goods(product.id, 5)], Ref("receipt"))
    assert told(buyer) == 1 and told(neighbour) == 1
    assert told(bystander) == 0  # another product, still sold out
    assert any(buyer.email in r.getMessage() and "有货了" in r.getMessage() for r in caplog.records)

    # more stock, or sold out and back again: the subscription was used up
    stock.receive([Goods(product.id, 5)], Ref("receipt"))
    stock.sell([Goods(product.id, 10)], Ref("test"))
    stock.receive([Goods(product.id, 1)], Ref("receipt"))
    assert told(buyer) == 1
    assert not restock.is_subscribed(buyer, product.id)


def test_subscribing_again_after_being_told_is_a_new_round():
    product = sold_out()
    buyer = UserFactory()
    restock.subscribe(buyer, product.id)
    stock.receive([Goods(product.id, 1)], Ref("receipt"))
    stock.sell([Goods(product.id, 1)], Ref("test"))
    restock.subscribe(buyer, product.id)
    stock.restock([Goods(product.id, 1)], Ref("refund"))
    assert told(buyer) == 2


def test_stock_that_never_ran_out_tells_nobody_and_a_rollback_tells_nobody():
    product = sold_out()
    buyer = UserFactory()
    restock.subscribe(buyer, product.id)
    with pytest.raises(RuntimeError), unit_of_work():
        stock.receive([Goods(product.id, 3)], Ref("receipt"))
        raise RuntimeError("the use case failed")
    assert told(buyer) == 0 and restock.is_subscribed(buyer, product.id)


def test_stock_at_a_fair_stall_is_not_the_shop_having_it():
    from orders.fairs.models import Fair  # noqa: F401  (the fairs' tables exist)

    product = sold_out()
    buyer = UserFactory()
    restock.subscribe(buyer, product.id)
    stall = stock.fair_stall(1, "某集市")
    stock.receive([Goods(product.id, 3, stall)], Ref("receipt"))
    assert told(buyer) == 0


def test_only_public_products_can_be_watched():
    from catalog.models import ProductStatus

    product = sold_out()
    product.status = ProductStatus.DRAFT
    db.session.commit()
    with pytest.raises(NotFound):
        restock.subscribe(UserFactory(), product.id)


def test_a_count_correction_or_the_products_import_brings_it_back_too():
    from marketplace.unit_of_work import unit_of_work as uow
    from vendors.stock_counts import set_on_hand_many

    product, other = sold_out(), sold_out()
    buyer = UserFactory()
    restock.subscribe(buyer, product.id)
    restock.subscribe(buyer, other.id)
    with uow():
        set_on_hand_many({product.id: 4, other.id: 0}, Ref("import"))
    assert told(buyer) == 1
    assert restock.is_subscribed(buyer, other.id)  # still sold out: still waiting


def test_a_plain_rollback_drops_the_waiting_notice_too():
    from marketplace.unit_of_work import after_commit

    product = sold_out()
    buyer = UserFactory()
    restock.subscribe(buyer, product.id)
    after_commit("stock_returned", restock.stock_returned, product.id)
    db.session.rollback()  # not a unit of work's: the session event drops it
    with unit_of_work():
        pass  # a later use case commits; the dropped notice must not go out with it
    assert told(buyer) == 0
    after_commit("stock_returned", restock.stock_returned, product.id)
    with unit_of_work():
        pass
    assert told(buyer) == 1  # kept, it goes out after the next commit
