"""Every table the app hands out as a file, CSV or XLSX, is written here.

Cells are numbers or text. A number (int, Decimal, float) stays a number. Text is what
someone typed somewhere (a vendor's product name, a household imported by the bureau),
so a spreadsheet must never run it: text starting with ``= + - @``, a tab or a carriage
return gets a leading apostrophe (OWASP "CSV injection"), in CSV and XLSX alike, and XLSX
text is stored with data type ``s`` whatever it looks like (openpyxl would otherwise
store ``=...`` as a formula and ``#N/A`` as an error). The CSV importers take the
apostrophe off again (``unescape_text``), so an exported file can be uploaded back.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain, islice
from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_TYPES = (int, float, Decimal)
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = '"¥"#,##0.00'
WIDTH_SAMPLE = 500  # rows read to fit the column widths
MIN_WIDTH, MAX_WIDTH = 6, 60


class Yuan(Decimal):
    """An amount of money in yuan: a number in both files, shown with the yuan format
    (``¥1,234.50``) in XLSX, written ``1234.50`` in CSV."""


def yuan(fen: int) -> Yuan:
    """Integer fen as ``Yuan`` (exact: never through a float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return Yuan(f"{sign}{whole}.{cents:02d}")


def period_label(start: date | None, end: date | None) -> str:
    """A period as people write it: 2026年, 2026年3月, 2026年1月-3月, 2026年3月5日至2026年4月2日,
    or 全部 with neither end."""
    if start is None and end is None:
        return _("全部")
    if start is None:
        return _("截至%(day)s", day=_day(end))
    if end is None:
        return _("%(day)s起", day=_day(start))
    month_start = start.day == 1
    month_end = end == date.max or (end + timedelta(days=1)).day == 1
    if month_start and month_end and start.year == end.year:
        if start.month == 1 and end.month == 12:
            return _("%(y)d年", y=start.year)
        if start.month == end.month:
            return _("%(y)d年%(m)d月", y=start.year, m=start.month)
        return _("%(y)d年%(m1)d月-%(m2)d月", y=start.year, m1=start.month, m2=end.month)
    if start == end:
        return _day(start)
    return _("%(a)s至%(b)s", a=_day(start), b=_day(end))


def _day(day: date) -> str:
    return _("%(y)d年%(m)d月%(d)d日", y=day.year, m=day.month, d=day.day)


def file_name(report: str, ext: str, start: date | None = None, end: date | None = None) -> str:
    """``销售汇总_2026年3月.xlsx``: the report's name and its period."""
    cleaned = "".join("_" if ch in '\\/:*?"<>|' else ch for ch in report).strip()
    return f"{cleaned}_{period_label(start, end)}.{ext}"


def text_width(value) -> int:
    """Columns a value takes in a spreadsheet: a wide (Chinese) character counts two."""
    text = "" if value is None else str(value)
    if isinstance(value, Yuan):
        text = f"¥{value:,.2f}"
    longest = max((line for line in text.split("\n")), key=len, default="")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def attachment(body: bytes, mimetype: str, filename: str):
    """A download response named ``filename``, Chinese characters included (RFC 6266:
    an ASCII fallback beside the UTF-8 ``filename*``)."""
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


def escape_text(text: str) -> str:
    """``=1+1`` -> ``'=1+1``: text a spreadsheet shows as typed, never as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def unescape_text(text: str) -> str:
    """Undo ``escape_text`` on a cell read back from one of our own files."""
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def cell_value(value) -> int | float | Decimal | str:
    """A number as it is (bool as 0/1); None as an empty cell; anything else as safe text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, NUMBER_TYPES):
        return value
    if value is None:
        return ""
    return escape_text(str(value))


def to_csv(header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese text), CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell_value(v) for v in header])
    for row in rows:
        writer.writerow([cell_value(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(
    title: str,
    header: Sequence,
    rows: Iterable[Sequence],
    *,
    number_formats: Mapping[int, str] | None = None,
    widths: Mapping[int, float] | None = None,
    heading: str | None = None,
) -> bytes:
    """One sheet: an optional ``heading`` row (the report's name and period), the header
    in bold, then the rows, streamed (a write-only workbook keeps memory flat). Columns
    are as wide as their text (the header and the first rows; a Chinese character counts
    double) unless ``widths`` says otherwise; ``Yuan`` cells get the yuan format unless
    ``number_formats`` gives another. Both are keyed by 0-based column index."""
    number_formats = number_formats or {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    rows = iter(rows)
    sample = [list(row) for row in islice(rows, WIDTH_SAMPLE)]
    fitted = _fit_widths(header, sample)
    fitted.update(widths or {})
    for index, width in fitted.items():
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    if heading:
        sheet.append([_xlsx_cell(sheet, heading, font=Font(bold=True, size=13))])
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, v, font=bold) for v in header])
    for row in chain(sample, rows):
        sheet.append(
            [_xlsx_cell(sheet, v, number_format=number_formats.get(i)) for i, v in enumerate(row)]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fit_widths(header: Sequence, sample: list[list]) -> dict[int, float]:
    widths: dict[int, float] = {}
    for row in [list(header), *sample]:
        for index, value in enumerate(row):
            width = min(MAX_WIDTH, max(MIN_WIDTH, text_width(cell_value(value)) + 2))
            widths[index] = max(widths.get(index, 0), width)
    return widths


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of ``[]:*?/\\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return cleaned[:31] or "Sheet1"


def _xlsx_cell(sheet, value, *, font: Font | None = None, number_format: str | None = None):
    value = cell_value(value)
    cell = WriteOnlyCell(sheet, value=None if value == "" else value)
    if isinstance(value, str):
        cell.data_type = "s"  # never "f" (formula) or "e" (error), whatever the text
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    elif number_format:
        cell.number_format = number_format
    elif isinstance(value, Yuan):
        cell.number_format = YUAN_FORMAT
    if font is not None:
        cell.font = font
    return cell
