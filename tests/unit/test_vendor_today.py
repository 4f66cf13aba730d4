"""The vendor's dashboard says what to do today (issue 14, item 2): vendor staff land on
it after logging in; it counts parts awaiting shipment (and the overdue ones), products
low in stock, certificates expiring, this month's sales and households driven, and the
latest settlement statement; and after-sales requests waiting for the vendor."""

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


def test_the_dashboard_counts_after_sales_requests_waiting_for_the_vendor(
    client, auth, frozen_clock
):
    from orders.shop import aftersales
    from orders.shop.fulfilment import ship_part

    from .test_fulfilment import part, two_vendor_market

    frozen_clock(datetime(2026, 10, 15, 2, tzinfo=UTC))
    market = two_vendor_market()
    order, a, buyer = market["order"], market["a"], market["buyer"]
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    auth.login(market["staff_a"].email)
    page = client.get("/vendor").text
    assert 'data-testid="after-sales-waiting">0<' in page
    assert "没有待处理的售后申请" in client.get("/vendor/after-sales").text
    auth.logout()

    apples_line = next(line.id for line in order.lines if line.vendor_id == a.id)
    request = aftersales.request_after_sales(
        buyer, order.id, part(order, a.id).id, "return", "苹果有虫眼", {apples_line: 1}
    )
    auth.login(market["staff_a"].email)
    page = client.get("/vendor").text
    assert 'data-testid="after-sales-waiting">1<' in page
    assert 'data-testid="after-sales-answer">待答复 1 件' in page
    assert 'data-testid="after-sales-overdue"' not in page
    listed = client.get("/vendor/after-sales").text
    assert listed.count('data-testid="after-sales-row"') == 1 and "苹果有虫眼" in listed
    assert f"/vendor/orders/{order.id}" in listed
    auth.logout()
    # another vendor's dashboard knows nothing of it
    auth.login(market["staff_b"].email)
    assert 'data-testid="after-sales-waiting">0<' in client.get("/vendor").text
    assert 'data-testid="after-sales-row"' not in client.get("/vendor/after-sales").text
    auth.logout()

    frozen_clock(datetime(2026, 10, 19, 2, tzinfo=UTC))  # four days unanswered
    auth.login(market["staff_a"].email)
    page = client.get("/vendor").text
    assert "1 件超过 3 天未答复" in page
    assert "已逾期" in client.get("/vendor/after-sales").text
    auth.logout()

    aftersales.accept(market["staff_a"], a, request.id, "海口市龙华区果园路1号")
    aftersales.send_return(buyer, request.id, "顺丰速运", "SF9")
    auth.login(market["staff_a"].email)
    page = client.get("/vendor").text
    assert 'data-testid="after-sales-receive">待确认收到退货 1 件' in page
    assert 'data-testid="after-sales-answer"' not in page
    aftersales.receive_return(market["staff_a"], a, request.id)
    assert 'data-testid="after-sales-waiting">0<' in client.get("/vendor").text
