"""One vocabulary for errors: what a person can correct (a ``DomainError``: shown on the
form or flashed) is kept apart from what refuses access (an ``AccessError``: ``NotFound``
is a 404 page, ``Forbidden`` a 403 page), which the app answers once, whichever view a
service raised it under."""

from __future__ import annotations

import pytest

from marketplace.errors import (
    AccessError,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from orders.shop import fulfilment as shop
from vendors.stock import OutOfStock

from ..factories import UserFactory
from .test_shop_core import stocked_product
from .test_shop_orders import paid_order


def test_access_errors_are_not_errors_a_form_shows():
    for error in (NotFound, Forbidden):
        assert issubclass(error, AccessError)
        assert not issubclass(error, DomainError)
    for error in (ValidationError, IllegalTransition, OutOfStock):
        assert issubclass(error, DomainError)
        assert not issubclass(error, AccessError)


def _raising(error: Exception):
    def service(*args, **kwargs):
        raise error

    return service


@pytest.fixture
def buyer_order(client, auth):
    """A paid order of a logged-in buyer, for the order page's buttons."""
    buyer = UserFactory()
    order = paid_order(buyer, stocked_product(5))
    auth.login(buyer.email)
    return order


def test_a_forbidden_from_a_service_behind_a_view_is_a_403_page(client, buyer_order, monkeypatch):
    """The view flashes a ``DomainError``; a ``Forbidden`` is not one of them."""
    monkeypatch.setattr(shop, "cancel_by_buyer", _raising(Forbidden("不许")))
    response = client.post(f"/orders/{buyer_order.id}/cancel", data={"reason": ""})
    assert response.status_code == 403
    assert "不许" in response.get_data(as_text=True)


def test_a_not_found_from_a_service_behind_a_view_is_a_404_page(client, buyer_order, monkeypatch):
    monkeypatch.setattr(shop, "confirm_receipt", _raising(NotFound()))
    response = client.post(f"/orders/{buyer_order.id}/receive")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_a_forbidden_answers_json_to_an_api_client(client, buyer_order, monkeypatch):
    monkeypatch.setattr(shop, "confirm_receipt", _raising(Forbidden("不许")))
    response = client.post(
        f"/orders/{buyer_order.id}/receive", headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.get_json() == {"error": "不许", "status": 403}


@pytest.mark.parametrize(
    "error", [IllegalTransition("已有商品发货"), ValidationError("已有商品发货")]
)
def test_an_error_a_person_can_act_on_is_flashed_on_the_page(
    client, buyer_order, monkeypatch, error
):
    monkeypatch.setattr(shop, "cancel_by_buyer", _raising(error))
    response = client.post(f"/orders/{buyer_order.id}/cancel", data={"reason": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已有商品发货" in page


def test_a_service_field_error_is_shown_beside_its_field(client, auth, monkeypatch):
    """The vendor's ship form: the service's field error goes next to the field (and the
    page says what went wrong), with a 400."""
    from .test_shop_orders import vendor_admin

    product = stocked_product(5)
    order = paid_order(UserFactory(), product)
    auth.login(vendor_admin(product).email)
    error = ValidationError("运单号格式不对", {"tracking_no": "运单号格式不对"})
    monkeypatch.setattr(shop, "ship_part", _raising(error))
    response = client.post(
        f"/vendor/orders/{order.id}/ship", data={"carrier": "顺丰速运", "tracking_no": "x"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "运单号格式不对" in page
    assert "is-invalid" in page
