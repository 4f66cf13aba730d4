"""The certification application's households and test report (issue 14, item 4): the
households are picked from a searchable list of the vendor's own town (code, village and
a masked name like 王*华), never another vendor's; the PDF stays attached after an error
and is used when the vendor sends the form again."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from catalog.held_reports import HOLD_FOR
from catalog.households import PICK_LIMIT, mask_name
from catalog.models import Certification, HeldReport
from marketplace.extensions import db
from marketplace.models import OrgKind, Role, utcnow

from ..catalog_factories import ProductFactory
from ..factories import HouseholdFactory, VillageFactory, member_of
from .test_catalog_vendor import PDF, cert_form, count, upload_dir


@pytest.fixture
def home():
    return VillageFactory(name="本村")


@pytest.fixture
def vendor(home):
    return member_of(
        OrgKind.COOPERATIVE, Role.STAFF, district=home.town.district, town=home.town, village=home
    )


@pytest.fixture
def product(org):
    return ProductFactory(vendor=org, name="高州荔枝", price=3000, unit="箱")


@pytest.fixture
def login(auth):
    def do(user):
        assert auth.login(user.email).status_code == 302
        return user

    return do


def form_data(**overrides) -> dict:
    """The application form; ``test_report=None`` sends no file."""
    data = cert_form(**overrides)
    if data["test_report"] is None:
        del data["test_report"]
    return data


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王小华", "王*华"), ("王华", "王*"), ("欧阳小华", "欧**华"), ("王", "王*"), ("", "")],
)
def test_names_keep_their_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.fixture
def register(home):
    """Households of the vendor's town (two villages) and of another town."""
    neighbour = VillageFactory(name="邻村", town=home.town)
    far = VillageFactory(name="远村")
    return {
        "own": HouseholdFactory(village=home, code="HH-OWN-1", head_name="王小华"),
        "neighbour": HouseholdFactory(village=neighbour, code="HH-OWN-2", head_name="李明"),
        "far": HouseholdFactory(village=far, code="HH-FAR-1", head_name="王大明"),
    }


def test_the_picker_lists_only_the_vendors_own_households_masked(client, login, vendor, register):
    login(vendor)
    found = client.get("/vendor/households").get_json()
    assert found["more"] is False
    assert found["households"] == [
        {"code": "HH-OWN-1", "village": "本村", "name": "王*华"},
        {"code": "HH-OWN-2", "village": "邻村", "name": "李*"},
    ]
    # searching by another town's code, name or village finds nothing
    for q in ("HH-FAR-1", "王大明", "远村", "FAR"):
        assert client.get("/vendor/households", query_string={"q": q}).get_json() == {
            "households": [],
            "more": False,
        }
    assert [h["code"] for h in client.get("/vendor/households?q=王").get_json()["households"]] == [
        "HH-OWN-1"
    ]
    assert [h["code"] for h in client.get("/vendor/households?q=邻").get_json()["households"]] == [
        "HH-OWN-2"
    ]
    assert client.get("/vendor/households?q=%25").get_json()["households"] == []  # no wildcard
    response = client.get("/vendor/households?q=own-1")
    assert "no-store" in response.headers["Cache-Control"]
    assert [h["code"] for h in response.get_json()["households"]] == ["HH-OWN-1"]


def test_another_vendor_never_sees_these_households(client, auth, login, register):
    elsewhere = member_of(OrgKind.COOPERATIVE, Role.STAFF, village=register["far"].village)
    login(elsewhere)
    codes = [h["code"] for h in client.get("/vendor/households").get_json()["households"]]
    assert codes == ["HH-FAR-1"]
    auth.logout()
    nowhere = member_of(OrgKind.ENTERPRISE, Role.STAFF)
    login(nowhere)
    assert client.get("/vendor/households").get_json()["households"] == []
    auth.logout()
    buyer = member_of(OrgKind.AGENCY, Role.BUYER)
    login(buyer)
    assert client.get("/vendor/households").status_code == 403


def test_the_picker_says_when_more_match(client, login, vendor, home):
    for i in range(PICK_LIMIT + 1):
        HouseholdFactory(village=home, code=f"HH-M-{i:03d}")
    login(vendor)
    found = client.get("/vendor/households").get_json()
    assert len(found["households"]) == PICK_LIMIT and found["more"] is True


def test_without_script_the_form_searches_and_adds_the_picked_households(
    client, login, vendor, product, register
):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    page = client.get(url).text
    assert page.count('data-testid="pick-row"') == 2 and "王*华" in page and "王小华" not in page
    assert "HH-FAR-1" not in page and "王*明" not in page
    assert 'src="/static/js/household-picker.js"' in page

    searched = client.post(
        url, data={**form_data(households="", test_report=None), "pick": "search", "pick_q": "邻"}
    )
    assert searched.status_code == 200
    assert searched.text.count('data-testid="pick-row"') == 1 and "HH-OWN-2" in searched.text
    assert "请至少填写一户受益农户" not in searched.text  # a search is not a submission

    added = client.post(
        url,
        data={
            **form_data(households="HH-OWN-1,2", test_report=None),
            "pick": "add",
            # another town's code, forged into the form, is not added
            "pick_code": ["HH-OWN-1", "HH-OWN-2", "HH-FAR-1"],
        },
    )
    textarea = re.search(r'<textarea[^>]*name="households"[^>]*>(.*?)</textarea>', added.text, re.S)
    assert textarea.group(1).strip() == "HH-OWN-1,2\nHH-OWN-2,1"
    assert count(Certification) == 0


def test_picker_presses_are_not_counted_as_submissions(client, login, vendor, product, register):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    for _ in range(25):
        data = {**form_data(test_report=None), "pick": "search", "pick_q": ""}
        assert client.post(url, data=data).status_code == 200
    assert client.post(url, data=form_data(households="HH-OWN-1")).status_code == 302


def held_token(html: str) -> str:
    return re.search(r'name="report_token" type="hidden" value="([^"]*)"', html).group(1)


def test_the_pdf_stays_attached_after_an_error_and_is_used_on_resubmit(
    client, login, vendor, product, register, app
):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    first = client.post(url, data=form_data(households="HH-FAR-1,1"))
    assert first.status_code == 200 and "以下户编码无法使用：HH-FAR-1" in first.text
    assert "已上传：report.pdf（重新选择可替换）" in first.text
    token = held_token(first.text)
    held = db.session.scalar(select(HeldReport))
    assert held.token == token and held.org_id == vendor.memberships[0].org_id
    stored = upload_dir(app) / "reports" / held.stored_name
    assert stored.read_bytes() == PDF

    # a second error without choosing the file again still keeps it
    second = client.post(url, data=form_data(households="", test_report=None, report_token=token))
    assert "已上传：report.pdf" in second.text and held_token(second.text) == token

    done = client.post(
        url, data=form_data(households="HH-OWN-1,1", test_report=None, report_token=token)
    )
    assert done.status_code == 302
    cert = db.session.scalar(select(Certification))
    assert cert.test_report_file == held.stored_name and stored.read_bytes() == PDF
    assert count(HeldReport) == 0  # the application took the file over


def test_choosing_another_file_replaces_the_held_one(client, login, vendor, product, app):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    token = held_token(client.post(url, data=form_data(households="")).text)
    old = db.session.scalar(select(HeldReport)).stored_name
    again = client.post(
        url,
        data=form_data(
            households="",
            report_token=token,
            test_report=(io.BytesIO(PDF + b"%new"), "新报告.pdf", "application/pdf"),
        ),
    )
    assert "已上传：新报告.pdf" in again.text and held_token(again.text) != token
    assert [h.filename for h in db.session.scalars(select(HeldReport))] == ["新报告.pdf"]
    assert not (upload_dir(app) / "reports" / old).exists()


def test_a_token_works_only_for_its_vendor_and_for_a_day(
    client, auth, login, vendor, product, register
):
    login(vendor)
    url = f"/vendor/products/{product.id}/certify"
    token = held_token(client.post(url, data=form_data(households="")).text)
    auth.logout()
    other = member_of(OrgKind.COOPERATIVE, Role.STAFF, village=register["far"].village)
    login(other)
    theirs = ProductFactory(vendor=other.memberships[0].org)
    response = client.post(
        f"/vendor/products/{theirs.id}/certify",
        data=form_data(households="HH-FAR-1", test_report=None, report_token=token),
    )
    assert response.status_code == 200 and "请上传检测报告（PDF）" in response.text
    assert count(Certification) == 0
    auth.logout()

    login(vendor)
    db.session.scalar(select(HeldReport)).created_at = utcnow() - HOLD_FOR - timedelta(minutes=1)
    db.session.commit()
    response = client.post(
        url, data=form_data(households="HH-OWN-1", test_report=None, report_token=token)
    )
    assert "请上传检测报告（PDF）" in response.text and count(Certification) == 0
