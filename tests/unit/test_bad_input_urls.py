"""Hostile URLs (issue 17, item 4), beyond tests/integration/test_route_bounds.py (which
tries 2**31, 2**63, 2**64 and -1 in every integer parameter): ids written as ``1e9``,
``0``, with Unicode digits or signs in every ``<int:...>``/``<bigint:...>`` parameter are
404, and every GET page takes a query string of garbage (``page=-1``, ``page=10**20``,
``sort=<script>``, malformed dates, SQL and HTML fragments, ids past BIGINT) as a bureau
admin, a vendor admin and a buyer with a page or a 4xx, never a 500, and never echoes the
``<script>`` marker unescaped."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from .bad_input import FUZZ, SCRIPT, value
from .test_bad_input_forms import login, path_of, world  # noqa: F401 (a fixture)

PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
SKIP = {"static", "auth.logout"}
ODD_IDS = ["1e9", "0x10", "²", "+1", "1.0", "%00", "1%20", "9" * 40, "-0"]
# Werkzeug's integer converter reads any Unicode decimal digits (``int("١٢٣") == 123``):
# such a URL names the same row as its ASCII twin; it must only never fail
UNICODE_IDS = ["١٢٣", "１２", "٩" * 30]
QUERY_KEYS = [
    "page",
    "per_page",
    "sort",
    "order",
    "q",
    "from",
    "to",
    "month",
    "year",
    "status",
    "kind",
    "village",
    "town",
    "district",
    "category",
    "product",
    "vendor",
    "org",
    "household",
    "channel",
    "next",
    "format",
]
queries = st.dictionaries(
    st.sampled_from(QUERY_KEYS),
    st.one_of(value, st.sampled_from(["-1", str(10**20), SCRIPT, "2026-13-45", "0"])),
    min_size=1,
    max_size=6,
)


def get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in SKIP),
        key=lambda r: r.rule,
    )


@pytest.mark.parametrize("who", ["anonymous", "bureau"])
def test_odd_ids_in_integer_parameters_are_404(app, world, who):  # noqa: F811
    client = app.test_client()
    login(client, world["users"].get(who))
    failures = []
    for rule in get_rules(app):
        ints = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        for name in ints:
            for odd in ODD_IDS + UNICODE_IDS:
                path = PARAM.sub(
                    lambda m, name=name, odd=odd: odd if m.group(1) == name else "1", rule.rule
                )
                status = client.get(path).status_code
                if status >= 500 or (odd in ODD_IDS and status != 404):
                    failures.append(f"GET {path} -> {status}")
    assert failures == []


def fuzz_query(client, path: str):
    @settings(FUZZ, max_examples=8)
    @given(query=queries)
    def check(query):
        response = client.get(path, query_string=query)
        assert response.status_code < 500, f"GET {path} {query!r} -> {response.status_code}"
        if response.mimetype == "text/html":
            assert SCRIPT not in response.get_data(as_text=True), f"GET {path} {query!r}"

    return check


@pytest.mark.parametrize("who", ["bureau", "vendor", "buyer"])
def test_garbage_query_strings_on_every_page_are_never_500(app, world, who):  # noqa: F811
    failures = []
    for rule in get_rules(app):
        client = app.test_client()
        login(client, world["users"][who])
        path = path_of(rule, world["known"])

        check = fuzz_query(client, path)
        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc)[:800])
    assert failures == [], "\n\n".join(failures)
