"""Fairs and counters through their pages: public, organizer, the stall's JSON, counters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.fairs import counters, fairs, stalls
from orders.fairs.models import Fair, FairStatus, StallSale
from orders.ledger.models import Order
from vendors import stock

from ..catalog_factories import BenefitLinkFactory
from ..factories import HouseholdFactory, MembershipFactory, OrgFactory, member_of
from ..fair_helpers import organizer, stall_at_fair
from ..vendor_factories import SellableProductFactory


def sale_json(s, token="tok-page-001", qty=1, method="cash", **extra):
    return {
        "token": token,
        "payment_method": method,
        "lines": [{"product_id": s.product.id, "quantity": qty, **extra}],
    }


def test_the_stall_records_a_sale_once_by_token_and_voids_it(client, auth):
    s = stall_at_fair()
    auth.login(s.seller.email)
    url = f"/vendor/fairs/{s.fair.id}/stall/sales"
    first = client.post(url, json=sale_json(s, qty=2, unit_price=2000))
    assert first.status_code == 201, first.json
    assert first.json["sale"]["total"] == "40.00"
    again = client.post(url, json=sale_json(s, qty=2, unit_price=2000))
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert db.session.scalar(select(func.count(Order.id))) == 1
    data = client.get(f"/vendor/fairs/{s.fair.id}/stall/data.json").json
    assert data["totals"]["amount"] == "40.00"
    assert data["products"][0]["available"] == 8
    sale_id = first.json["sale"]["id"]
    voided = client.post(
        f"/vendor/fairs/{s.fair.id}/stall/sales/{sale_id}/void", json={"reason": "顾客退货"}
    )
    assert voided.status_code == 200 and voided.json["sale"]["voided"] is True
    data = client.get(f"/vendor/fairs/{s.fair.id}/stall/data.json").json
    assert data["totals"]["amount"] == "0.00" and data["products"][0]["available"] == 10


def test_the_stall_answers_rule_breaks_with_json_errors_not_500s(client, auth):
    s = stall_at_fair(open_=False, at_stall=2)
    auth.login(s.seller.email)
    url = f"/vendor/fairs/{s.fair.id}/stall/sales"
    assert client.post(url, json=sale_json(s)).status_code == 409  # not open yet
    fairs.open_fair(s.organizer, s.organizer_org, s.fair.id)
    assert client.post(url, json=sale_json(s, qty=3)).status_code == 409  # beyond stock
    assert client.post(url, json=sale_json(s, method="card")).status_code == 422
    assert client.post(url, json={"lines": "x"}).status_code == 400
    assert client.post(url, json=sale_json(s, qty="2")).status_code == 422
    assert client.post(url, data="not json").status_code == 400
    assert db.session.scalar(select(func.count(StallSale.id))) == 0


def test_another_vendor_cannot_reach_a_stall_it_does_not_hold(client, auth):
    s = stall_at_fair()
    other = member_of(OrgKind.COOPERATIVE, Role.STAFF)
    auth.login(other.email)
    assert client.get(f"/vendor/fairs/{s.fair.id}/stall").status_code == 404
    assert client.get(f"/vendor/fairs/{s.fair.id}/stall/data.json").status_code == 404
    response = client.post(f"/vendor/fairs/{s.fair.id}/stall/sales", json=sale_json(s))
    assert response.status_code == 404


def test_the_stall_page_uses_static_scripts_only_and_the_worker_is_served(client, auth):
    s = stall_at_fair()
    auth.login(s.seller.email)
    page = client.get(f"/vendor/fairs/{s.fair.id}/stall").get_data(as_text=True)
    assert 'src="/static/js/stall.js"' in page
    assert "<script>" not in page
    with client.get("/vendor/fairs/sw.js") as worker:
        assert worker.status_code == 200 and "javascript" in worker.content_type
        assert "caches" in worker.get_data(as_text=True)


def test_the_organizer_plans_admits_opens_and_closes_through_the_pages(client, auth):
    boss = organizer()
    vendor = OrgFactory(kind=OrgKind.COOPERATIVE, name="黎乡合作社")
    seller = MembershipFactory(org=vendor, role=Role.STAFF).user
    product = SellableProductFactory(vendor=vendor, stock=5)
    auth.login(boss.email)
    response = client.post(
        "/organizer/fairs",
        data={
            "name": "国兴社区集市",
            "date": local_today().isoformat(),
            "venue": "国兴广场",
            "district": "美兰区",
            "starts_at": "09:00",
            "ends_at": "12:00",
            "expected_stalls": "20",
        },
    )
    assert response.status_code == 302
    fair = db.session.scalar(select(Fair))
    assert fair.organizer_id == boss.memberships[0].org.id
    stall = fairs.apply_for_stall(seller, vendor, fair.id, "黎乡摊")
    client.post(f"/organizer/stalls/{stall.id}/admit")
    stalls.move_to_stall(seller, vendor, fair.id, product.id, 3)
    client.post(f"/organizer/fairs/{fair.id}/open")
    db.session.refresh(fair)
    assert fair.status == FairStatus.OPEN
    stalls.record_stall_sale(
        seller, vendor, fair.id, "tok-org-0001", [stalls.SaleLine(product.id, 1)], "alipay"
    )
    client.post(f"/organizer/fairs/{fair.id}/close")
    db.session.refresh(fair)
    assert fair.status == FairStatus.CLOSED
    page = client.get(f"/organizer/fairs/{fair.id}").get_data(as_text=True)
    assert "黎乡合作社" in page and "25.00" in page
    assert stock.available(product.id) == 4


def test_an_organizer_cannot_act_on_another_organizers_fair(client, auth):
    s = stall_at_fair(open_=False)
    other = organizer()
    auth.login(other.email)
    assert client.get(f"/organizer/fairs/{s.fair.id}").status_code == 404
    assert client.post(f"/organizer/fairs/{s.fair.id}/open").status_code == 404
    assert db.session.get(Fair, s.fair.id).status == FairStatus.PLANNED


def test_public_pages_show_upcoming_vendors_and_past_totals_by_the_publication_rule(client):
    s = stall_at_fair()
    upcoming = client.get("/fairs").get_data(as_text=True)
    assert "万绿园爱心集市" in upcoming and s.product.name in upcoming
    stalls.record_stall_sale(
        s.seller, s.vendor, s.fair.id, "tok-pub-0001", [stalls.SaleLine(s.product.id, 2)], "cash"
    )
    fairs.close_fair(s.organizer, s.organizer_org, s.fair.id)
    page = client.get(f"/fairs/{s.fair.id}").get_data(as_text=True)
    assert "50.00" not in page  # two households: fewer than three are not described
    # a fair whose sales reached three households shows its figures
    t = stall_at_fair()
    BenefitLinkFactory(product=t.product, household=HouseholdFactory())
    stalls.record_stall_sale(
        t.seller, t.vendor, t.fair.id, "tok-pub-0002", [stalls.SaleLine(t.product.id, 2)], "cash"
    )
    fairs.close_fair(t.organizer, t.organizer_org, t.fair.id)
    page = client.get(f"/fairs/{t.fair.id}").get_data(as_text=True)
    assert "50.00" in page
    assert client.get("/fairs/999999").status_code == 404


def test_counters_through_the_pages(client, auth):
    retailer = member_of(OrgKind.RETAILER, Role.STAFF)
    auth.login(retailer.email)
    client.post("/retailer/stores", data={"name": "惠民超市海秀店", "district": "秀英区"})
    store = counters.stores()[0]
    vendor = OrgFactory(kind=OrgKind.COOPERATIVE)
    seller = MembershipFactory(org=vendor, role=Role.STAFF).user
    product = SellableProductFactory(vendor=vendor, stock=10, price=1500)
    auth.logout()
    auth.login(seller.email)
    client.post(
        "/vendor/counters",
        data={"store_id": store.id, "product_id": product.id, "quantity": 6, "action": "to"},
    )
    assert stock.available(product.id, counters.counter_place(store)) == 6
    auth.logout()
    auth.login(retailer.email)
    day = local_today() - timedelta(days=1)
    client.post(
        f"/retailer/stores/{store.id}",
        data={
            "vendor_id": vendor.id,
            "period_start": (day - timedelta(days=6)).isoformat(),
            "period_end": day.isoformat(),
            "product_id": product.id,
            "quantity": 2,
            "amount": "30.00",
        },
    )
    order = db.session.scalar(select(Order))
    assert (order.channel, order.total) == ("counter", 3000)
    page = client.get(f"/retailer/stores/{store.id}").get_data(as_text=True)
    assert "33%" in page  # 2 sold of 6 placed
    other = member_of(OrgKind.RETAILER, Role.STAFF)
    auth.logout()
    auth.login(other.email)
    assert client.get(f"/retailer/stores/{store.id}").status_code == 404
