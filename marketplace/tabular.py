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
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_TYPES = (int, float, Decimal)
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
) -> bytes:
    """One sheet, header in bold, rows streamed (a write-only workbook keeps memory flat).
    ``number_formats`` and ``widths`` are keyed by 0-based column index."""
    number_formats = number_formats or {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    for index, width in (widths or {}).items():
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, v, font=bold) for v in header])
    for row in rows:
        sheet.append(
            [_xlsx_cell(sheet, v, number_format=number_formats.get(i)) for i, v in enumerate(row)]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    """Excel allows 31 characters and none of ``[]:*?/\\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return cleaned[:31] or "Sheet1"


def _xlsx_cell(sheet, value, *, font: Font | None = None, number_format: str | None = None):
    value = cell_value(value)
    cell = WriteOnlyCell(sheet, value=None if value == "" else value)
    if isinstance(value, str):
        cell.data_type = "s"  # never "f" (formula) or "e" (error), whatever the text
    elif number_format:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell
