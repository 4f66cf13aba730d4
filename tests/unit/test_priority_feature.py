"""优先帮扶 (issue 16, item 3): the public catalogue features products whose links in
force include red or yellow households, and never names or counts a group below the
publication threshold: a product with fewer than three at-risk households is not
featured at all, and a count is printed only where the rest is no small group either."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from catalog import priority
from catalog.models import CertStatus
from marketplace.clock import local_today
from marketplace.publication import MIN_GROUP

from ..catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from ..factories import HouseholdFactory


def _product(at_risk: int, green: int = 0, *, lights=("red", "yellow"), **kwargs):
    product = ProductFactory(**kwargs)
    CertificationFactory(product=product)
    for i in range(at_risk):
        BenefitLinkFactory(
            product=product, household=HouseholdFactory(risk_light=lights[i % len(lights)])
        )
    for _ in range(green):
        BenefitLinkFactory(product=product, household=HouseholdFactory(risk_light="green"))
    return product


def _numbers_near_priority(html: str) -> list[int]:
    found = re.search(r'data-testid="priority-note">(.*?)</div>', html, re.S)
    return [int(n) for n in re.findall(r"\d+", found.group(1))] if found else []


def test_three_at_risk_households_feature_a_product_everywhere(client):
    featured = _product(3, name="优先的蜂蜜")
    plain = _product(2, 5, name="普通的茶叶")

    listing = client.get("/products?priority=1").get_data(as_text=True)
    assert "优先的蜂蜜" in listing and "普通的茶叶" not in listing
    everything = client.get("/products").get_data(as_text=True)
    assert everything.count('data-testid="priority-badge"') == 1
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="priority-products"' in home and "优先的蜂蜜" in home

    page = client.get(f"/products/{featured.id}").get_data(as_text=True)
    assert 'data-testid="priority-badge"' in page
    assert _numbers_near_priority(page) == [3]
    page = client.get(f"/products/{plain.id}").get_data(as_text=True)
    assert 'data-testid="priority-badge"' not in page and "priority-note" not in page


def test_no_priority_section_without_a_featured_product(client):
    _product(2)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="priority-products"' not in home
    listing = client.get("/products?priority=1").get_data(as_text=True)
    assert 'data-testid="empty-state"' in listing


@pytest.mark.parametrize("at_risk", range(0, 6))
@pytest.mark.parametrize("green", range(0, 5))
def test_the_feature_never_reveals_a_group_below_the_threshold(client, at_risk, green):
    """Every mix of up to five at-risk and four other households: the badge appears only
    from three at-risk households on, and the page prints the at-risk count only when
    neither it nor the rest (total minus it, shown beside) is a group of one or two."""
    product = _product(at_risk, green)
    html = client.get(f"/products/{product.id}").get_data(as_text=True)
    featured = at_risk >= MIN_GROUP
    assert ('data-testid="priority-badge"' in html) is featured
    listing = client.get("/products?priority=1").get_data(as_text=True)
    assert (f"/products/{product.id}" in listing) is featured
    printed = _numbers_near_priority(html)
    if featured and green not in (1, 2):
        assert printed == [at_risk]
    else:
        assert printed == []
    for n in printed:
        assert n >= MIN_GROUP


def test_links_no_longer_in_force_do_not_count(client):
    product = ProductFactory()
    CertificationFactory(product=product)
    today = local_today()
    # last year's version linked three red households; today's links two green ones
    for _ in range(3):
        BenefitLinkFactory(
            product=product,
            household=HouseholdFactory(risk_light="red"),
            valid_from=today - timedelta(days=400),
        )
    for _ in range(2):
        BenefitLinkFactory(
            product=product,
            household=HouseholdFactory(risk_light="green"),
            valid_from=today - timedelta(days=10),
        )
    assert priority.priority_ids([product.id], today) == set()
    assert priority.priority_impact(product.id, today) is None
    assert 'data-testid="priority-badge"' not in client.get(f"/products/{product.id}").get_data(
        as_text=True
    )


def test_a_household_turning_green_ends_the_feature():
    product = _product(3)
    today = local_today()
    assert priority.priority_ids([product.id], today) == {product.id}
    from marketplace.extensions import db
    from marketplace.models import Household

    household = db.session.scalars(
        db.select(Household).where(Household.risk_light == "red")
    ).first()
    household.risk_light = "green"
    db.session.commit()
    assert priority.priority_ids([product.id], today) == set()


def test_only_sellable_products_are_featured(client):
    product = ProductFactory(name="未认定的优先产品")
    CertificationFactory(product=product, status=CertStatus.PENDING)
    for _ in range(3):
        BenefitLinkFactory(product=product, household=HouseholdFactory(risk_light="red"))
    assert "未认定的优先产品" not in client.get("/products?priority=1").get_data(as_text=True)
    assert "未认定的优先产品" not in client.get("/").get_data(as_text=True)


def test_the_vendor_page_shows_the_badge_too(client):
    featured = _product(4, name="优先的米")
    _product(0, 3, vendor=featured.vendor, name="普通的面")
    html = client.get(f"/vendors/{featured.vendor_id}").get_data(as_text=True)
    assert "优先的米" in html and "普通的面" in html
    assert html.count('data-testid="priority-badge"') == 1


def test_a_suspended_product_is_not_featured_on_its_page(client):
    product = _product(3)
    product.certifications[0].status = CertStatus.SUSPENDED
    from marketplace.extensions import db

    db.session.commit()
    html = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert 'data-testid="suspended"' in html
    assert 'data-testid="priority-badge"' not in html and "priority-note" not in html
