"""Unified social credit code check character (GB 32100-2015)."""

from __future__ import annotations

import pytest

from marketplace.credit_code import check_character, is_valid, normalize

VALID = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert is_valid(code)
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", VALID)
def test_every_other_check_character_is_invalid(code):
    wrong = [c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != code[17]]
    assert not any(is_valid(code[:17] + c) for c in wrong)


@pytest.mark.parametrize("code", VALID)
def test_a_single_changed_digit_is_caught(code):
    changed = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    assert not is_valid(changed)


@pytest.mark.parametrize("code", ["9135010M000100Y43", "91350100M000100Y433", "", "9" * 17])
def test_wrong_length_is_invalid(code):
    assert not is_valid(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_outside_the_alphabet_are_invalid(letter):
    first17 = "91350100M000100Y4"
    assert not is_valid(first17 + letter)  # as the check character
    assert not is_valid(first17[:8] + letter + first17[9:] + "3")  # inside the body


def test_lowercase_and_spaces_are_normalised():
    assert normalize(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert is_valid("91350100m000100y43")
    assert is_valid(" 91110000802100433b ")


def test_none_is_invalid_not_an_error():
    assert not is_valid(None)
