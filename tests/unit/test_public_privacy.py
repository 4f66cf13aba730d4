"""Public pages never show a group of fewer than three households (issue 9, items 5 and
6): no count of 1 or 2 on product, order and home pages, and on the impact page no
withheld group can be recovered by subtracting the rows shown from the total."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from itertools import combinations

import pytest

from marketplace.extensions import db
from orders.fairs.models import Fair
from orders.ledger.models import Channel
from orders.ledger.services import SaleItem, record_paid_sale
from tests.catalog_factories import BenefitLinkFactory, CertificationFactory, ProductFactory
from tests.factories import HouseholdFactory, VillageFactory

from .test_reports_pages import page_tables

FIGURES = ("amount", "households", "person_times", "villages")


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


# -- product pages ---------------------------------------------------------------------


@pytest.mark.parametrize("linked", [1, 2])
def test_product_page_shows_no_count_below_three_households(client, linked):
    village = VillageFactory(name="小户村")
    product = CertificationFactory(product=ProductFactory(origin_village=village)).product
    households = [HouseholdFactory(village=village) for _ in range(linked)]
    for household in households:
        BenefitLinkFactory(product=product, household=household)
    page = html(client, f"/products/{product.id}")
    impact = re.search(r'data-testid="impact">(.*?)</div>', page, re.S).group(1)
    assert "此产品帮扶建档立卡户" in impact
    assert not re.search(r"\d", impact)  # no count of households, none of villages
    assert village.full_name in page  # the origin village is still shown ...
    assert "小户村" not in impact  # ... but never named as where the households live
    for household in households:
        assert household.code not in page and household.head_name not in page


def test_product_page_counts_three_households(client):
    product = CertificationFactory().product
    for _ in range(3):
        BenefitLinkFactory(product=product)
    assert "此产品帮扶 3 户建档立卡户，分布在 3 个村" in html(client, f"/products/{product.id}")


# -- the impact page -------------------------------------------------------------------


def number(text: str) -> int | None:
    """A figure as shown ("1,234.56" yuan, "12" households) in fen or units; None for
    a withheld one."""
    text = text.strip()
    if text == "—":
        return None
    assert re.fullmatch(r"[\d,]+(\.\d\d)?", text), text
    return int(text.replace(",", "").replace(".", ""))


@pytest.fixture
def small_year_and_channel():
    """Disjoint groups (the case where every figure adds up, so subtraction would be
    exact), each household in its own village: 2023 and the fair channel hold one
    household only."""
    members = iter(range(1, 20))

    def linked_product(n: int):
        product = ProductFactory()
        for _ in range(n):
            household = HouseholdFactory(members=next(members), village=VillageFactory())
            BenefitLinkFactory(product=product, household=household, weight=Decimal(1))
        return product

    fair = Fair(code="F-P", name="小集市", date=date(2023, 6, 1), venue="广场", district="东区")
    db.session.add(fair)
    db.session.commit()

    def sale(channel, product, price, day):
        record_paid_sale(
            channel,
            [SaleItem(product, 1, price)],
            sale_date=day,
            check_sellable=False,
            fair=fair if channel == Channel.FAIR else None,
        )

    sale(Channel.ONLINE, linked_product(3), 3000, date(2022, 3, 1))  # members 1+2+3
    sale(Channel.FAIR, linked_product(1), 4321, date(2023, 6, 1))  # members 4
    sale(Channel.PROCUREMENT, linked_product(4), 10000, date(2024, 5, 1))  # 5+6+7+8
    sale(Channel.COUNTER, linked_product(3), 2222, date(2024, 9, 1))  # 9+10+11
    sale(Channel.ONLINE, ProductFactory(), 7777, date(2024, 2, 2))  # no household
    return {
        # (households, amount, person-times, villages) per group, as sold
        "years": {
            "2022": (3, 3000, 6, 3),
            "2023": (1, 4321, 4, 1),
            "2024": (7, 10000 + 2222 + 7777, 5 + 6 + 7 + 8 + 9 + 10 + 11, 7),
        },
        "channels": {
            "线上商城": (3, 3000 + 7777, 6, 3),
            "扶贫集市": (1, 4321, 4, 1),
            "单位采购": (4, 10000, 26, 4),
            "扶贫专柜": (3, 2222, 30, 3),
        },
        "total": (11, 27320, 66, 11),
    }


def test_no_withheld_figure_can_be_recovered_by_subtraction(client, small_year_and_channel):
    truth = small_year_and_channel
    page = html(client, "/impact")
    total_block = page.split('data-testid="impact-total"', 1)[1].split("</div>\n</div>", 1)[0]
    shown_total = [number(t) for t in re.findall(r'class="stat-number">(.*?)</div>', total_block)]
    households, amount, person_times, villages = truth["total"]
    assert shown_total == [amount, households, person_times, villages]  # the headline stands
    total = dict(zip(FIGURES, shown_total, strict=True))
    tables = page_tables(page)
    for name in ("years", "channels"):
        rows = {row[0]: [number(cell) for cell in row[1:]] for row in tables[name]}
        assert set(rows) == set(truth[name]), name
        withheld = {label for label, cells in rows.items() if cells == [None] * 4}
        assert {label for label, cells in rows.items() if None in cells} == withheld
        small = {label for label, (h, *_rest) in truth[name].items() if 0 < h < 3}
        assert small and small <= withheld, name
        for i, figure in enumerate(FIGURES):
            shown = [cells[i] for label, cells in rows.items() if label not in withheld]
            hidden = {truth[name][label][(1, 0, 2, 3)[i]] for label in withheld}
            for size in range(len(shown) + 1):
                for subset in combinations(shown, size):
                    difference = total[figure] - sum(subset)
                    assert difference not in hidden, (name, figure, subset)
    # nor is a withheld year drawn in the chart
    chart = page.split('<figure class="chart', 1)[1].split("</figure>", 1)[0]
    assert "2023" not in chart
    assert "43.21" not in page and "4,321" not in page


def test_home_counter_shows_the_published_total_only(client, small_year_and_channel):
    page = html(client, "/")
    counter = page.split('data-testid="impact-counter"', 1)[1].split("</section>", 1)[0]
    numbers = [number(t) for t in re.findall(r'class="stat-number">([^<]+)<', counter)]
    households, amount, person_times, villages = small_year_and_channel["total"]
    assert numbers == [amount, households, person_times, villages]
