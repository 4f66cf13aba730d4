"""The procurement pages: a buyer's basket (by hand and by upload), the approver, the
vendor and the agency walking an order through the forms, scoping by organization, the
printed documents with 大写, the quota form and the bureau's ranking and export."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from marketplace.extensions import db
from marketplace.models import OrgKind, Role
from orders.procurement.models import BasketItem, ProcurementOrder

from .. import procurement_helpers as h
from ..factories import member_of


@pytest.fixture
def ag():
    return h.agency("海口市教育局")


@pytest.fixture
def ven():
    return h.vendor()


@pytest.fixture
def goods(ven):
    return h.product(ven, name="火山荔枝", sku="LZ-20", min_order_qty=10)


def test_the_buyer_orders_and_everyone_walks_it_through_the_forms(client, auth, ag, ven, goods):
    auth.login(ag.buyer.email)
    page = client.get("/procurement/catalogue").get_data(as_text=True)
    assert "火山荔枝" in page and "62.00" in page
    client.post("/procurement/basket", data={"product_id": goods.id, "quantity": 25})
    page = client.get("/procurement/basket").get_data(as_text=True)
    assert "1,550.00" in page  # 25 x 62.00, the tier price
    response = client.post(
        "/procurement/basket/submit",
        data={
            "address": "龙华区滨海大道1号",
            "contact_name": "王师傅",
            "contact_phone": "13800000000",
            "delivery_days": "7",
        },
    )
    assert response.status_code == 302
    order = db.session.scalars(db.select(ProcurementOrder)).one()
    assert order.status == "submitted"
    url = f"/procurement/orders/{order.id}"
    # the buyer cannot approve
    client.post(f"{url}/approve")
    db.session.expire_all()
    assert order.status == "submitted"
    auth.logout()
    auth.login(ag.approver.email)
    client.post(f"{url}/approve", data={"comment": "同意"})
    auth.logout()
    auth.login(ven.staff.email)
    assert order.number in client.get("/procurement").get_data(as_text=True)
    client.post(f"{url}/confirm")
    line = order.lines[0]
    client.post(f"{url}/ship", data={f"shipped-{line.id}": "25", "delivery_note": "SH-1"})
    auth.logout()
    auth.login(ag.buyer.email)
    client.post(f"{url}/accept", data={f"received-{line.id}": "24"})
    db.session.expire_all()
    assert (order.status, order.accepted_total) == ("accepted", 24 * 6200)
    auth.logout()
    auth.login(ven.staff.email)
    client.post(
        f"{url}/invoice",
        data={
            "number": "No8832",
            "issued_on": order.accepted_on.isoformat(),
            "amount": "1488.00",
            "title": "海口市教育局",
            "tax_id": "11460100MB0000000X",
        },
    )
    auth.logout()
    auth.login(ag.buyer.email)
    client.post(f"{url}/pay", data={"reference": "HX-1", "paid_on": order.accepted_on.isoformat()})
    db.session.expire_all()
    assert order.status == "paid" and order.ledger_order_id
    printed = client.get(f"{url}/print").get_data(as_text=True)
    assert "人民币壹仟伍佰伍拾元整" in printed  # the order as placed: 1,550.00
    accepted = client.get(f"{url}/acceptance/print").get_data(as_text=True)
    assert "人民币壹仟肆佰捌拾捌元整" in accepted  # as received: 1,488.00
    home = client.get("/procurement").get_data(as_text=True)
    assert "1,488.00" in home


def test_below_the_minimum_quantity_is_refused(client, auth, ag, goods):
    auth.login(ag.buyer.email)
    response = client.post(
        "/procurement/basket", data={"product_id": goods.id, "quantity": 9}, follow_redirects=True
    )
    assert "起订量为 10 箱" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(BasketItem.id))) == 0


def test_upload_is_all_or_nothing_with_row_errors(client, auth, ag, goods):
    auth.login(ag.buyer.email)
    bad = b"sku,quantity\nLZ-20,12\nNOPE-1,5\nLZ-20x,abc\n"
    response = client.post(
        "/procurement/basket/upload", data={"file": (io.BytesIO(bad), "lines.csv")}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "row 3" in page and "row 4" in page
    assert db.session.scalar(db.select(db.func.count(BasketItem.id))) == 0
    book = Workbook()
    book.active.append(["sku", "quantity"])
    book.active.append(["LZ-20", 12])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    client.post("/procurement/basket/upload", data={"file": (data, "lines.xlsx")})
    item = db.session.scalars(db.select(BasketItem)).one()
    assert item.quantity == 12


def test_another_agencys_user_gets_404_and_a_vendor_sees_only_its_own(client, auth, ag, ven, goods):
    order = h.walk(ag, ven, {goods: 20}, "approved")
    other = h.agency("海口市卫生健康委员会")
    auth.login(other.approver.email)
    assert client.get(f"/procurement/orders/{order.id}").status_code == 404
    assert client.post(f"/procurement/orders/{order.id}/cancel").status_code == 404
    assert client.get(f"/procurement/orders/{order.id}/print").status_code == 404
    auth.logout()
    stranger = h.vendor()
    auth.login(stranger.staff.email)
    assert client.get(f"/procurement/orders/{order.id}").status_code == 404
    assert order.number not in client.get("/procurement").get_data(as_text=True)


def test_quota_form_and_the_bureau_ranking_and_export(client, auth, ag):
    auth.login(ag.admin.email)
    client.post("/procurement/quota", data={"budget": "1000000", "ratio": "10"})
    assert "100,000.00" in client.get("/procurement").get_data(as_text=True)
    auth.logout()
    bureau = member_of(OrgKind.BUREAU, Role.STAFF)
    auth.login(bureau.email)
    page = client.get("/procurement/bureau/quotas").get_data(as_text=True)
    assert "海口市教育局" in page and "100,000.00" in page
    csv = client.get("/procurement/bureau/quotas.csv").get_data(as_text=True)
    assert (
        csv.lstrip("\ufeff")
        .splitlines()[0]
        .startswith("name,district,no_canteen,budget,ratio,reserved")
    )
    assert "海口市教育局" in csv
    xlsx = client.get("/procurement/bureau/quotas.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    client.post(
        f"/procurement/bureau/quotas/{ag.org.id}",
        data={"budget": "2000000", "ratio": "10", "reason": "按批复更正"},
    )
    assert "200,000.00" in client.get("/procurement/bureau/quotas").get_data(as_text=True)


def test_the_home_page_links_to_procurement(client):
    assert "/procurement" in client.get("/").get_data(as_text=True)
