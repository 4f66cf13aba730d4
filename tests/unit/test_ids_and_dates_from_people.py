"""The kernel's one reading of an id or a date a person can type (URL, query string,
form): anything the database cannot hold is "none", never sent to the database."""

from __future__ import annotations

from datetime import date

import pytest

from marketplace.web import MAX_BIGID, MAX_ID, date_arg, id_arg, optional_id, to_id


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("42", 42),
        (" 7 ", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),  # past INTEGER
        (str(2**63), None),
        ("0", None),
        ("-1", None),
        ("", None),
        (None, None),
        ("abc", None),
        ("4²", None),  # a digit to str.isdigit, not to int()
        ("٣", None),  # an Arabic-Indic three
        ("9" * 5000, None),  # past Python's int() digit limit
        (True, None),
    ],
)
def test_to_id(raw, expected):
    assert to_id(raw) == expected


def test_bigint_ids_have_their_own_bound():
    assert to_id(str(MAX_ID + 1), MAX_BIGID) == MAX_ID + 1
    assert to_id(str(MAX_BIGID + 1), MAX_BIGID) is None


def test_a_select_of_ids_refuses_what_is_not_one():
    assert optional_id("") is None and optional_id("12") == 12
    with pytest.raises(ValueError):
        optional_id(str(2**31))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("d=2026-12-01", date(2026, 12, 1)),
        ("d=0001-01-01", date(1900, 1, 1)),  # clamped: a UTC bound never overflows
        ("d=9999-12-31", date(2999, 12, 31)),
        ("d=2026-02-30", None),
        ("d=yesterday", None),
        ("", None),
    ],
)
def test_date_arg(app, query, expected):
    with app.test_request_context(f"/?{query}"):
        assert date_arg("d") == expected


def test_id_arg(app):
    with app.test_request_context(f"/?village={2**63}&town=12"):
        assert id_arg("village") is None and id_arg("town") == 12
