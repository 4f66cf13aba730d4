"""Money is integer fen. Yuan appear only at the edges: forms, CSV, display."""

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l

MAX_FEN = 10**15  # ten trillion yuan: far beyond any real sale, well inside BIGINT
_YUAN = re.compile(r"\d+(\.\d{1,2})?")


class MoneyError(ValueError):
    pass


def parse_yuan(text: str, *, allow_zero: bool = True) -> int:
    """'12.5' -> 1250 fen. At most 2 decimals, never negative, never a float."""
    raw = (text or "").strip().replace(",", "")
    if raw.startswith("¥"):
        raw = raw[1:].strip()
    if raw.startswith("-"):
        raise MoneyError(_l("金额不能为负数"))
    match = _YUAN.fullmatch(raw)
    if not match:
        if re.fullmatch(r"\d+\.\d{3,}", raw):
            raise MoneyError(_l("金额最多保留两位小数"))
        raise MoneyError(_l("不是有效的金额"))
    value = Decimal(raw)
    fen = int(value * 100)
    if fen == 0 and not allow_zero:
        raise MoneyError(_l("金额必须大于零"))
    if fen > MAX_FEN:
        raise MoneyError(_l("金额过大"))
    return fen


def format_fen(fen: int | None) -> str:
    """1250 -> '12.50'; the contract's yuan string with exactly 2 decimals."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def format_fen_grouped(fen: int | None) -> str:
    """1234567 -> '12,345.67' for pages."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{part:02d}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("仟", "佰", "拾", "")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four_digits(number: int) -> str:
    """0 < number < 10000 in capitals, with one 零 for each run of inner zeros."""
    out, zero = "", False
    for digit, unit in zip(f"{number:04d}", _SMALL_UNITS, strict=True):
        if digit == "0":
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[int(digit)] + unit
    return out


def _yuan_capitals(yuan: int) -> str:
    groups = []
    while yuan:
        yuan, group = divmod(yuan, 10000)
        groups.append(group)
    out, zero = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            zero = bool(out)
            continue
        if out and (zero or group < 1000):
            out += "零"
        out += _four_digits(group) + _BIG_UNITS[index]
        zero = False
    return out


def capitals(fen: int) -> str:
    """An amount in Chinese financial capitals (大写), as on invoices and contracts:
    100001050 fen -> 壹佰万零壹拾元伍角整, 5 -> 伍分, 0 -> 零元整. Exact integer
    arithmetic on fen; never negative, at most ``MAX_FEN``."""
    fen = int(fen)
    if fen < 0 or fen > MAX_FEN:
        raise MoneyError(_l("金额超出范围"))
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if fen == 0:
        return "零元整"
    out = _yuan_capitals(yuan) + "元" if yuan else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif cents and yuan:
        out += "零"
    if cents:
        out += _DIGITS[cents] + "分"
    else:
        out += "整"
    return out
