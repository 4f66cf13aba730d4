"""Label races through the real HTTP routes under gunicorn (issue 16, item 4): scans of
one label at the same moment each count once (one atomic UPDATE, no lost update), and
two first prints of the same label at once end with one label, whose link both sheets
show."""

from __future__ import annotations

import re
from functools import partial

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from vendors.models import TraceLabel

from ..catalog_factories import CertificationFactory, ProductFactory
from ..conftest import TEST_PASSWORD, requires_postgres
from ..factories import member_of
from .live_server import concurrently

pytestmark = [requires_postgres, pytest.mark.postgres]

SCANS = 24


def _certified_product_of_a_vendor():
    vendor = member_of()
    product = ProductFactory(vendor=vendor.memberships[0].org)
    CertificationFactory(product=product)
    return vendor, product


def test_concurrent_scans_all_count(live_server):
    vendor, product = _certified_product_of_a_vendor()
    staff = live_server.browser().login(vendor.email, TEST_PASSWORD)
    assert staff.post(f"/vendor/labels/products/{product.id}").status_code == 302
    token = db.session.scalar(select(TraceLabel.token).where(TraceLabel.product_id == product.id))

    def scan():
        return live_server.browser().get(f"/t/{token}", allow_redirects=False)

    responses = concurrently([scan] * SCANS)
    assert [r.status_code for r in responses] == [302] * SCANS, live_server.log()[-4000:]
    assert all("Set-Cookie" not in r.headers for r in responses)
    db.session.expire_all()
    assert db.session.scalar(select(TraceLabel.scans).where(TraceLabel.token == token)) == SCANS


def test_two_first_prints_make_one_label(live_server):
    vendor, product = _certified_product_of_a_vendor()
    browsers = [live_server.browser().login(vendor.email, TEST_PASSWORD) for _ in range(4)]
    path = f"/vendor/labels/products/{product.id}"
    responses = concurrently(
        [partial(b.post, path, {"copies": "1"}, allow_redirects=True) for b in browsers]
    )
    assert [r.status_code for r in responses] == [200] * 4, live_server.log()[-4000:]
    links = {re.search(r'data-testid="label-url">([^<]+)<', r.text).group(1) for r in responses}
    assert len(links) == 1
    count = db.session.scalar(
        select(func.count(TraceLabel.id)).where(TraceLabel.product_id == product.id)
    )
    assert count == 1
