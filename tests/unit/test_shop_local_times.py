"""Every time a person sees is in the configured zone (issue 13, item 7): an order
placed at 00:30 Beijing time on 1 March (16:30 UTC on 28 February) shows 03-01 00:30 on
the buyer's, the vendor's and the bureau's order pages, in the order list, and its
sale date is the local day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from marketplace.models import OrgKind, Role
from orders.shop.checkout import place_order
from orders.shop.payment import complete_payment, start_payment

from ..factories import MembershipFactory, UserFactory, member_of
from .test_shop_core import address, stocked_product

LOCAL = "2026-03-01 00:30"
UTC_DAY = "2026-02-28"


def test_order_pages_show_beijing_time(client, auth, frozen_clock):
    frozen_clock(datetime(2026, 2, 28, 16, 30, tzinfo=UTC))
    product = stocked_product(3)
    buyer = UserFactory()
    order = place_order(buyer, {product.id: 1}, address(), "t-midnight")
    complete_payment("test", start_payment(order).reference)
    assert order.sale_date == date(2026, 3, 1)

    auth.login(buyer.email)
    detail = client.get(f"/orders/{order.id}").get_data(as_text=True)
    listing = client.get("/orders").get_data(as_text=True)
    for page in (detail, listing):
        assert LOCAL in page and UTC_DAY not in page
    assert detail.count(LOCAL) >= 3  # 下单时间, and the timeline's 下单 and 付款成功

    auth.logout()
    vendor_staff = MembershipFactory(org=product.vendor, role=Role.STAFF).user
    auth.login(vendor_staff.email)
    vendor_page = client.get(f"/vendor/orders/{order.id}").get_data(as_text=True)
    assert LOCAL in vendor_page and UTC_DAY not in vendor_page

    auth.logout()
    auth.login(member_of(OrgKind.BUREAU, Role.STAFF).email)
    bureau_page = client.get(f"/bureau/orders/{order.id}").get_data(as_text=True)
    assert LOCAL in bureau_page and UTC_DAY not in bureau_page
    bureau_list = client.get("/bureau/orders").get_data(as_text=True)
    assert UTC_DAY not in bureau_list
