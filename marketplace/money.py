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
