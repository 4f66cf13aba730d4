"""Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last
is a check character over the first 17, modulo 31. Also the taxpayer ids an invoice may carry."""

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, ...


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize(code: str) -> str:
    return (code or "").strip().upper()


def is_valid(code: str) -> bool:
    code = normalize(code)
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    return check_character(code[:17]) == code[17]


TAXPAYER_ID = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{17}$|^[0-9A-Z]{18}$|^[0-9A-Z]{20}$")
RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
RESIDENT_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def _resident_id_ok(code: str) -> bool:
    """An 18-digit resident id (a sole trader's old taxpayer id): ISO 7064 MOD 11-2."""
    if not RESIDENT_ID.match(code):
        return False
    total = sum(int(c) * w for c, w in zip(code[:17], RESIDENT_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == code[17]


def is_valid_tax_id(code: str) -> bool:
    """A taxpayer id on an invoice (纳税人识别号): the 18-character unified social credit
    code with its check character, or an older taxpayer id of 15, 17 or 20 letters and
    digits; an 18-character id that is not a credit code must be a valid resident id."""
    code = normalize(code)
    if len(code) == 18:
        return is_valid(code) or _resident_id_ok(code)
    return bool(TAXPAYER_ID.match(code))
