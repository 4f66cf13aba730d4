"""The vendor's dashboard says what to do today (issue 14, item 2): vendor staff land on
it after logging in; it counts parts awaiting shipment (and the overdue ones), products
low in stock, certificates expiring, this month's sales and households driven, and the
latest settlement statement."""

from __future__ import annotations

from datetime import UTC, date, datetime

from orders.settlement import services as settlement

from ..conftest import TEST_PASSWORD
from ..factories import UserFactory
from .test_fulfilment import bureau_staff, paid_order, staff_of
from .test_shop_core import stocked_product


def test_vendor_staff_land_on_their_dashboard_and_buyers_on_the_home_page(client, auth):
    product = stocked_product(5)
    staff = staff_of(product.vendor)
    response = auth.login(staff.email)
    assert response.headers["Location"].endswith("/vendor")
    auth.logout()
    buyer = UserFactory()
    assert auth.login(buyer.email).headers["Location"].endswith("/")
    auth.logout()
    asked = client.post(
        "/login?next=/vendor/orders", data={"email": staff.email, "password": TEST_PASSWORD}
    )
    assert asked.headers["Location"].endswith("/vendor/orders")  # where they asked to go


def test_the_dashboard_counts_what_needs_doing_today(client, auth, frozen_clock):
    frozen_clock(datetime(2026, 10, 15, 2, tzinfo=UTC))
    apples = stocked_product(12, price=1000)  # 12 on hand, threshold 10
    buyer = UserFactory()
    paid_order(buyer, {apples: 3}, "today-1")  # 9 left: low
    staff = staff_of(apples.vendor)
    frozen_clock(datetime(2026, 10, 16, 2, tzinfo=UTC))  # 24 hours later
    paid_order(buyer, {apples: 1}, "today-2")
    auth.login(staff.email)

    page = client.get("/vendor").text
    assert 'data-testid="to-ship">2<' in page and 'data-testid="overdue"' not in page
    assert 'data-testid="low-stock">1<' in page
    assert "¥40.00" in page and "带动 2 户" in page  # two benefit links
    assert "还没有结算单" in page

    frozen_clock(datetime(2026, 11, 2, 2, tzinfo=UTC))
    bureau = bureau_staff()
    settlement.issue_month(bureau, bureau.memberships[0].org, date(2026, 10, 1))
    auth.login(staff.email)  # the October session has run out
    page = client.get("/vendor").text
    assert 'data-testid="overdue">2 单超过 48 小时未发货' in page
    assert "最新结算单（2026-10）" in page and "¥40.00" in page
    assert "¥0.00" in page  # November has no sales yet
