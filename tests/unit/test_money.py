"""Money is integer fen; yuan strings only at the edges (docs/formats.md)."""

from __future__ import annotations

import pytest

from marketplace.money import MAX_FEN, MoneyError, format_fen, format_fen_grouped, parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.5", 1250),
        ("12.50", 1250),
        ("1200", 120000),
        ("0.01", 1),
        ("0", 0),
        (" 8.80 ", 880),
        ("1,234.56", 123456),
        ("¥3.2", 320),
        ("82232400.00", 8223240000),
    ],
)
def test_parse_yuan_to_exact_fen(text, fen):
    assert parse_yuan(text) == fen
    assert isinstance(parse_yuan(text), int)


def test_parse_is_exact_where_float_would_not_be():
    # float("0.29") * 100 == 28.999999999999996
    assert parse_yuan("0.29") == 29
    assert parse_yuan("1.15") == 115


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.345", "最多保留两位小数"),
        ("-1", "不能为负数"),
        ("-0.5", "不能为负数"),
        ("abc", "不是有效的金额"),
        ("1e3", "不是有效的金额"),
        ("", "不是有效的金额"),
        ("12.", "不是有效的金额"),
        (".5", "不是有效的金额"),
        ("NaN", "不是有效的金额"),
        ("Infinity", "不是有效的金额"),
        ("1 000", "不是有效的金额"),
    ],
)
def test_parse_yuan_rejects(text, message):
    with pytest.raises(MoneyError) as error:
        parse_yuan(text)
    assert message in str(error.value)


def test_zero_can_be_refused():
    with pytest.raises(MoneyError):
        parse_yuan("0.00", allow_zero=False)
    assert parse_yuan("0.01", allow_zero=False) == 1


def test_absurd_amounts_are_refused():
    assert parse_yuan(str(MAX_FEN // 100)) == MAX_FEN
    with pytest.raises(MoneyError):
        parse_yuan(str(MAX_FEN // 100 + 1))


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1250, "12.50"),
        (0, "0.00"),
        (None, "0.00"),
        (1, "0.01"),
        (-5, "-0.05"),
        (123456789, "1234567.89"),
    ],
)
def test_format_fen_has_exactly_two_decimals(fen, text):
    assert format_fen(fen) == text


def test_format_and_parse_round_trip():
    for fen in (0, 1, 99, 100, 1250, 8223240000):
        assert parse_yuan(format_fen(fen)) == fen


def test_grouped_format_for_pages():
    assert format_fen_grouped(8223240000) == "82,232,400.00"
    assert format_fen_grouped(-123456) == "-1,234.56"
