"""Certification review (issue 14, item 10): the review page suggests the next
certificate number in the bureau's pattern and the configured validity; 认定产品销售额 is
explained where the reports show it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from catalog.certification import approve_certification, suggested_validity
from marketplace.clock import local_today
from marketplace.config import ConfigError, load_config

from ..catalog_factories import CertificationFactory
from .test_fulfilment import bureau_staff
from .test_reports_pages import bureau, ledger  # noqa: F401  (fixtures)


def field_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, name
    return match.group(1)


def test_the_review_page_suggests_the_next_number_and_the_validity(client, auth, app):
    today = local_today()
    reviewer = bureau_staff()
    first = CertificationFactory(status="pending")
    second = CertificationFactory(status="pending")
    auth.login(reviewer.email)

    page = client.get(f"/bureau/certifications/{first.id}").text
    number = field_value(page, "certificate_no")
    assert number == f"海口扶贫认定〔{today.year}〕第0001号"
    assert field_value(page, "valid_until") == suggested_validity(today, 2).isoformat()

    approve_certification(
        reviewer,
        reviewer.memberships[0].org,
        first.id,
        certificate_no=number,
        certified_on=today,
        valid_until=suggested_validity(today, 2),
    )
    page = client.get(f"/bureau/certifications/{second.id}").text
    assert field_value(page, "certificate_no") == f"海口扶贫认定〔{today.year}〕第0002号"

    app.config["CERTIFICATE_NO_PATTERN"] = "HK-{year}-{seq:03d}"
    app.config["CERTIFICATE_VALID_YEARS"] = 3
    try:
        page = client.get(f"/bureau/certifications/{second.id}").text
        assert field_value(page, "certificate_no") == f"HK-{today.year}-001"
        assert field_value(page, "valid_until") == suggested_validity(today, 3).isoformat()
    finally:
        app.config["CERTIFICATE_NO_PATTERN"] = "海口扶贫认定〔{year}〕第{seq:04d}号"
        app.config["CERTIFICATE_VALID_YEARS"] = 2


def test_validity_runs_to_the_day_before_the_anniversary():
    assert suggested_validity(date(2026, 3, 1), 2) == date(2028, 2, 29)
    assert suggested_validity(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert suggested_validity(date(2026, 1, 1), 2) == date(2027, 12, 31)
    assert suggested_validity(date(2026, 1, 1), 2) - date(2026, 1, 1) < timedelta(days=731)


@pytest.mark.parametrize("pattern", ["{year}-{n}", "{0}", "第{seq:q}号"])
def test_a_pattern_naming_anything_else_stops_the_app(tmp_path, pattern):
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"CERTIFICATE_NO_PATTERN": pattern})


def test_certified_sales_are_explained_on_the_report(client, bureau, ledger):  # noqa: F811
    page = client.get("/bureau/reports").text
    assert "认定产品销售额：销售当天持有有效扶贫产品认定证书的产品的销售额" in page
