"""E-invoices per vendor part (issue 13, item 5): the buyer requests one (personal or
company title, the taxpayer id checked, the e-mail to receive it) and may change it
only while it is requested; the vendor sees it in its list and on the order, issues it
(number and a real PDF, in the private folder) or rejects it with a reason; the PDF is
sent only to the buyer, the vendor's staff and the bureau; each step is audited and
tells the other side."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.credit_code import is_valid_tax_id
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import AuditEntry
from marketplace.notifications.models import Notification
from orders.shop import invoices
from orders.shop.checkout import place_order
from orders.shop.fulfilment import cancel_by_buyer
from orders.shop.invoices import InvoiceDetails
from orders.shop.models import InvoiceRequest, InvoiceStatus

from ..factories import UserFactory
from .test_fulfilment import bureau_staff, part, two_vendor_market
from .test_shop_core import address, stocked_product

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CREDIT_CODE = "91350100M000100Y43"  # a valid unified social credit code


@pytest.fixture
def market():
    return two_vendor_market()


def personal(email="buyer@example.com") -> InvoiceDetails:
    return InvoiceDetails("personal", "李市民", "", email)


def company(tax_id=CREDIT_CODE) -> InvoiceDetails:
    return InvoiceDetails("company", "海口某某科技有限公司", tax_id, "finance@example.com")


def requested(market) -> InvoiceRequest:
    order, a = market["order"], market["a"]
    return invoices.request_invoice(market["buyer"], order.id, part(order, a.id).id, company())


def issued(market) -> InvoiceRequest:
    invoice = requested(market)
    return invoices.issue_invoice(
        market["staff_a"], market["a"], invoice.id, "04400001", io.BytesIO(PDF)
    )


def cancel_unpaid(buyer, order) -> None:
    cancel_by_buyer(buyer, order.id, "不要了")
    db.session.refresh(order)
    assert order.status == "cancelled"


def inbox_titles(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.title).where(Notification.user_id == user.id))
    )


# ---------------------------------------------------------------- the taxpayer id


@pytest.mark.parametrize(
    "code",
    [
        CREDIT_CODE,
        CREDIT_CODE.lower(),
        "110108123456789",  # 15
        "11010812345678901",  # 17
        "11010519491231002X",  # an 18-digit resident id with its check digit
        "110108123456789012AB",  # 20
    ],
)
def test_valid_taxpayer_ids(code):
    assert is_valid_tax_id(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91350100M000100Y44",  # a credit code with the wrong check character
        "110105194912310021",  # a resident id with the wrong check digit
        "1101081234567",  # 13
        "1101081234567890",  # 16
        "110108-23456789",  # not letters and digits
    ],
)
def test_invalid_taxpayer_ids(code):
    assert not is_valid_tax_id(code)


def test_a_company_title_needs_a_valid_tax_id_and_personal_does_not(market):
    order, a, buyer = market["order"], market["a"], market["buyer"]
    shipment_id = part(order, a.id).id
    with pytest.raises(ValidationError) as missing:
        invoices.request_invoice(buyer, order.id, shipment_id, company(tax_id=""))
    assert "tax_id" in missing.value.errors
    with pytest.raises(ValidationError) as wrong:
        invoices.request_invoice(buyer, order.id, shipment_id, company(tax_id="91350100M000100Y44"))
    assert "统一社会信用代码" in wrong.value.errors["tax_id"]
    with pytest.raises(ValidationError) as no_mail:
        invoices.request_invoice(buyer, order.id, shipment_id, personal(email="nope"))
    assert "email" in no_mail.value.errors
    assert db.session.scalar(select(InvoiceRequest)) is None
    invoice = invoices.request_invoice(buyer, order.id, shipment_id, personal())
    assert invoice.status == InvoiceStatus.REQUESTED and invoice.tax_id is None


# ---------------------------------------------------------------- states


def test_request_then_issue_tells_both_sides_and_is_audited(market, caplog):
    with caplog.at_level(logging.INFO, logger="marketplace.mail"):
        invoice = requested(market)
        assert any("申请开具发票" in t for t in inbox_titles(market["staff_a"]))
        assert not inbox_titles(market["staff_b"])  # the other vendor is not asked
        invoice = invoices.issue_invoice(
            market["staff_a"], market["a"], invoice.id, "04400001", io.BytesIO(PDF)
        )
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_no == "04400001"
    assert any("发票已开具" in t for t in inbox_titles(market["buyer"]))
    mails = [r.getMessage() for r in caplog.records]
    assert any("finance@example.com" in m for m in mails)  # the address asked for
    assert any(market["buyer"].email in m and "发票已开具" in m for m in mails)
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"invoice.request", "invoice.issue"} <= actions


def test_the_buyer_edits_only_while_requested(market):
    invoice = requested(market)
    order, shipment_id = market["order"], invoice.shipment_id
    changed = invoices.request_invoice(market["buyer"], order.id, shipment_id, personal())
    assert changed.id == invoice.id and changed.title_kind == "personal"
    invoices.issue_invoice(market["staff_a"], market["a"], invoice.id, "1", io.BytesIO(PDF))
    with pytest.raises(IllegalTransition):
        invoices.request_invoice(market["buyer"], order.id, shipment_id, company())
    db.session.refresh(invoice)
    assert invoice.title_kind == "personal" and invoice.status == InvoiceStatus.ISSUED


def test_a_rejection_has_a_reason_and_the_buyer_may_ask_again(market):
    invoice = requested(market)
    with pytest.raises(ValidationError):
        invoices.reject_invoice(market["staff_a"], market["a"], invoice.id, " ")
    invoice = invoices.reject_invoice(market["staff_a"], market["a"], invoice.id, "抬头与税号不符")
    assert invoice.status == InvoiceStatus.REJECTED and invoice.reject_reason == "抬头与税号不符"
    assert any("未通过" in t for t in inbox_titles(market["buyer"]))
    # a rejected request cannot be issued, nor rejected twice
    with pytest.raises(IllegalTransition):
        invoices.issue_invoice(market["staff_a"], market["a"], invoice.id, "9", io.BytesIO(PDF))
    with pytest.raises(IllegalTransition):
        invoices.reject_invoice(market["staff_a"], market["a"], invoice.id, "again")
    again = invoices.request_invoice(
        market["buyer"], market["order"].id, invoice.shipment_id, company()
    )
    assert again.status == InvoiceStatus.REQUESTED and again.reject_reason is None


def test_an_issued_invoice_is_not_issued_twice(market):
    invoice = issued(market)
    with pytest.raises(IllegalTransition):
        invoices.issue_invoice(market["staff_a"], market["a"], invoice.id, "2", io.BytesIO(PDF))


def test_not_for_cancelled_orders_nor_others_parts(market, client, auth):
    buyer, apples = market["buyer"], market["apples"]
    unpaid = place_order(buyer, {apples.id: 1}, address(), "t-inv-unpaid")
    waiting = invoices.request_invoice(buyer, unpaid.id, unpaid.shipments[0].id, personal())
    assert waiting.status == InvoiceStatus.REQUESTED  # asked at checkout, before paying
    auth.login(market["staff_a"].email)  # the vendor sees it once the order is paid
    assert unpaid.number not in client.get("/vendor/invoices").get_data(as_text=True)
    auth.logout()
    cancel_unpaid(buyer, unpaid)
    with pytest.raises(IllegalTransition):
        invoices.request_invoice(buyer, unpaid.id, unpaid.shipments[0].id, company())
    order = market["order"]
    with pytest.raises(NotFound):  # another buyer's order
        invoices.request_invoice(UserFactory(), order.id, order.shipments[0].id, personal())
    invoice = requested(market)
    with pytest.raises(NotFound):  # the other vendor
        invoices.issue_invoice(market["staff_b"], market["b"], invoice.id, "1", io.BytesIO(PDF))


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_kept(app, market):
    invoice = requested(market)
    folder = Path(app.config["UPLOAD_FOLDER"]) / "invoices"
    before = set(folder.iterdir()) if folder.exists() else set()
    fake = io.BytesIO(b"\x89PNG\r\n\x1a\n not a pdf at all")
    with pytest.raises(ValidationError) as refused:
        invoices.issue_invoice(market["staff_a"], market["a"], invoice.id, "1", fake)
    assert "PDF" in refused.value.message
    big = io.BytesIO(PDF + b"0" * invoices.MAX_PDF_BYTES)
    with pytest.raises(ValidationError):
        invoices.issue_invoice(market["staff_a"], market["a"], invoice.id, "1", big)
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.REQUESTED
    assert (set(folder.iterdir()) if folder.exists() else set()) == before


# ---------------------------------------------------------------- the PDF


def test_the_pdf_is_private(app, client, auth, market):
    invoice = issued(market)
    url = f"/invoices/{invoice.id}/pdf"
    root = Path(app.config["UPLOAD_FOLDER"])
    assert (root / "invoices" / invoice.pdf_file).is_file()
    assert not (root / "images" / invoice.pdf_file).exists()
    assert client.get(f"/media/images/{invoice.pdf_file}").status_code == 404

    assert client.get(url).status_code == 404  # a visitor
    for who, expected in [
        (market["buyer"], 200),
        (market["staff_a"], 200),
        (bureau_staff(), 200),
        (UserFactory(), 404),  # another buyer
        (market["staff_b"], 404),  # the other vendor of the same order
    ]:
        auth.login(who.email)
        response = client.get(url)
        assert response.status_code == expected, who.email
        if expected == 200:
            assert response.data == PDF and response.mimetype == "application/pdf"
            assert "no-store" in response.headers["Cache-Control"]
        response.close()
        auth.logout()


# ---------------------------------------------------------------- the pages


def test_buyer_requests_from_the_order_page_and_downloads(client, auth, market):
    order, a = market["order"], market["a"]
    shipment = part(order, a.id)
    auth.login(market["buyer"].email)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert page.count('data-testid="invoice-request"') == 2  # one per vendor part
    form_url = f"/orders/{order.id}/parts/{shipment.id}/invoice"
    bad = client.post(
        form_url,
        data={"title_kind": "company", "title": "某公司", "tax_id": "123", "email": "a@b.cn"},
    )
    assert bad.status_code == 400 and "纳税人识别号应为" in bad.get_data(as_text=True)
    ok = client.post(
        form_url,
        data={"title_kind": "company", "title": "某公司", "tax_id": CREDIT_CODE, "email": "a@b.cn"},
    )
    assert ok.status_code == 302
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "待开票" in page and 'data-testid="invoice-edit"' in page
    invoice = db.session.scalar(select(InvoiceRequest))
    invoices.issue_invoice(market["staff_a"], a, invoice.id, "04400009", io.BytesIO(PDF))
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "已开票" in page and f"/invoices/{invoice.id}/pdf" in page
    assert 'data-testid="invoice-edit"' not in page


def test_vendor_list_filters_and_issues_from_the_order_page(client, auth, market):
    invoice = requested(market)
    other = stocked_product(5)
    auth.login(market["staff_a"].email)
    orders_page = client.get("/vendor/orders").get_data(as_text=True)
    assert 'data-testid="invoices-open">1<' in orders_page
    listing = client.get("/vendor/invoices?status=requested").get_data(as_text=True)
    assert market["order"].number in listing and "海口某某科技有限公司" in listing
    assert "没有符合条件的发票申请" in client.get("/vendor/invoices?status=issued").get_data(
        as_text=True
    )
    page = client.get(f"/vendor/orders/{market['order'].id}").get_data(as_text=True)
    assert 'data-testid="invoice-issue-form"' in page and CREDIT_CODE in page
    no_file = client.post(
        f"/vendor/invoices/{invoice.id}/issue",
        data={"invoice_no": "04400077"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "请上传电子发票 PDF 文件" in no_file.get_data(as_text=True)
    not_pdf = client.post(
        f"/vendor/invoices/{invoice.id}/issue",
        data={"invoice_no": "04400077", "file": (io.BytesIO(b"GIF89a..."), "fapiao.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "发票文件必须是 PDF 文件" in not_pdf.get_data(as_text=True)
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.REQUESTED
    response = client.post(
        f"/vendor/invoices/{invoice.id}/issue",
        data={"invoice_no": "04400077", "file": (io.BytesIO(PDF), "fapiao.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(invoice)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.invoice_no == "04400077"
    issued_list = client.get("/vendor/invoices?status=issued").get_data(as_text=True)
    assert "04400077" in issued_list
    auth.logout()
    auth.login(market["staff_b"].email)
    assert market["order"].number not in client.get("/vendor/invoices").get_data(as_text=True)
    assert (
        client.post(f"/vendor/invoices/{invoice.id}/reject", data={"reason": "x"}).status_code
        == 404
    )
    assert other.id  # an unrelated vendor's product changes nothing here


# ---------------------------------------------------------------- at checkout


def test_the_checkout_invoice_option_asks_each_vendor(client, auth):
    from .test_shop_checkout import (
        NEW_ADDRESS,
        buyer_with_cart,
        checkout_page,
        orders_count,
        token_of,
    )

    buyer_with_cart(auth, stocked_product(5), stocked_product(5))
    page = checkout_page(client)
    assert 'data-testid="checkout-invoice"' in page
    data = {
        **NEW_ADDRESS,
        "token": token_of(page),
        "invoice-wanted": "y",
        "invoice-title_kind": "company",
        "invoice-title": "海口某某科技有限公司",
        "invoice-tax_id": "91350100M000100Y44",  # wrong check character
        "invoice-email": "finance@example.com",
    }
    refused = client.post("/checkout", data=data)
    assert refused.status_code == 200 and "纳税人识别号应为" in refused.get_data(as_text=True)
    assert orders_count() == 0
    client.post("/checkout", data={**data, "invoice-tax_id": CREDIT_CODE})
    assert orders_count() == 1
    asked = db.session.scalars(select(InvoiceRequest)).all()
    assert len(asked) == 2 and {i.tax_id for i in asked} == {CREDIT_CODE}
    assert len({i.vendor_id for i in asked}) == 2


def test_the_checkout_without_the_option_asks_nothing(client, auth):
    from .test_shop_checkout import NEW_ADDRESS, buyer_with_cart, checkout_page, token_of

    buyer_with_cart(auth, stocked_product(5))
    page = checkout_page(client)
    client.post(
        "/checkout",
        data={**NEW_ADDRESS, "token": token_of(page), "invoice-title_kind": "company"},
    )
    assert db.session.scalar(select(InvoiceRequest)) is None
