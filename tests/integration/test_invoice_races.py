"""Invoice races through the real HTTP routes under gunicorn (issue 13, item 5): the
vendor's 开具发票 pressed twice at once issues the invoice once (one number, one PDF,
one audit row, the buyer told once), and a buyer's request submitted twice at once
makes one request; the loser is told, never a 500."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import AuditEntry
from marketplace.notifications.models import Notification
from orders.shop import invoices
from orders.shop.models import InvoiceRequest, InvoiceStatus

from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import UserFactory
from ..unit.test_fulfilment import paid_order, staff_of
from ..unit.test_shop_core import stocked_product
from .live_server import LiveServer, concurrently

pytestmark = [requires_postgres, pytest.mark.postgres]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CREDIT_CODE = "91350100M000100Y43"


def count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


def test_issue_pressed_twice_at_once_issues_once(live_server: LiveServer):
    product = stocked_product(5)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 1}, "race-invoice-issue")
    details = invoices.InvoiceDetails("company", "某公司", CREDIT_CODE, "a@example.com")
    invoice = invoices.request_invoice(buyer, order.id, order.shipments[0].id, details)
    vendor = live_server.browser().login(staff_of(product.vendor).email, TEST_PASSWORD)

    def issue(number: str):
        tab = vendor.clone()
        files = {"file": (f"{number}.pdf", PDF + number.encode(), "application/pdf")}
        post = partial(
            tab.post, f"/vendor/invoices/{invoice.id}/issue", {"invoice_no": number}, files=files
        )
        return tab, post

    (tab_a, call_a), (tab_b, call_b) = issue("A0001"), issue("B0002")
    responses = concurrently([call_a, call_b])

    codes = [r.status_code for r in responses]
    assert codes == [302, 302], (codes, live_server.log()[-3000:])
    seen = sorted(
        c for tab, r in ((tab_a, responses[0]), (tab_b, responses[1])) for c, _m in tab.flashes(r)
    )
    assert seen == ["danger", "success"], seen
    db.session.expire_all()
    invoice = db.session.get(InvoiceRequest, invoice.id)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_no in ("A0001", "B0002")
    assert count(select(AuditEntry).where(AuditEntry.action == "invoice.issue")) == 1
    told = select(Notification).where(
        Notification.user_id == buyer.id, Notification.kind == "invoice.issued"
    )
    assert count(told) == 1
    buyer_browser = live_server.browser().login(buyer.email, TEST_PASSWORD)
    pdf = buyer_browser.get(f"/invoices/{invoice.id}/pdf")
    assert pdf.status_code == 200 and pdf.content == PDF + invoice.invoice_no.encode()


def test_a_request_submitted_twice_at_once_makes_one(live_server: LiveServer):
    product = stocked_product(5)
    buyer = UserFactory()
    order = paid_order(buyer, {product: 1}, "race-invoice-request")
    shipment_id = order.shipments[0].id
    browser = live_server.browser().login(buyer.email, TEST_PASSWORD)
    form = {"title_kind": "personal", "title": "李市民", "tax_id": "", "email": "li@example.com"}
    url = f"/orders/{order.id}/parts/{shipment_id}/invoice"

    responses = concurrently([partial(browser.clone().post, url, form) for _ in range(2)])

    assert [r.status_code for r in responses] == [302, 302], live_server.log()[-3000:]
    assert count(select(InvoiceRequest).where(InvoiceRequest.shipment_id == shipment_id)) == 1
