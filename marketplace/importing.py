"""CSV and XLSX import machinery shared by every import (docs/formats.md, "CSV imports").

An import is declared, not written out again: a subclass of ``Importer`` names its
columns (each with a parser) and implements ``check`` (cross-row and database checks,
done in bulk) and ``write`` (bulk inserts/updates). ``run_import`` does the rest:
encoding detection, header checks, per-cell parsing, collecting every error as
``row N: column: message``, all-or-nothing writing in one transaction, dry runs and
the summary line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy import text as text_

from . import audit
from .bulk import WRITTEN_KEY, chunks
from .errors import DomainError
from .extensions import db
from .money import MoneyError, parse_yuan
from .tabular import unescape_text
from .unit_of_work import unit_of_work


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # line number in the file, header = 1; 0 for the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        if self.row == 0:
            return f"file: {self.message}"
        return f"row {self.row}: {self.column}: {self.message}"


class ImportFailed(DomainError):
    """The file has errors; nothing was written."""

    def __init__(self, errors: Sequence[RowError]):
        super().__init__(_("导入失败，共 %(n)d 处错误，未写入任何数据。", n=len(errors)))
        self.errors = sorted(errors)


@dataclass
class Row:
    number: int
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class ImportSummary:
    """What an import wrote (or would write, on a dry run): counts per kind of change,
    shown on the import page and printed by the command."""

    label: str
    counts: dict[str, int]
    dry_run: bool = False
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.label}: " + ", ".join(f"{n} {what}" for what, n in self.counts.items())
        return f"dry run, nothing written: {text}" if self.dry_run else text


# ---- cell parsers: take the stripped, non-empty cell text; raise ValueError ----


def text(max_length: int = 200) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(_("不能超过 %(n)d 个字符", n=max_length))
        return value

    return parse


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(_("必须是整数")) from None
        if minimum is not None and number < minimum:
            raise ValueError(_("必须大于等于 %(n)d", n=minimum))
        if maximum is not None and number > maximum:
            raise ValueError(_("必须小于等于 %(n)d", n=maximum))
        return number

    return parse


def choice(values: Iterable[str], labels: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """One of ``values`` (the codes), or one of ``labels`` (the Chinese words the pages
    show, e.g. ``未脱贫``), which reads as its code."""
    allowed = [str(v) for v in values]
    words = {str(k): str(v) for k, v in (labels or {}).items()}

    def parse(value: str) -> str:
        if value in allowed:
            return value
        if value in words:
            return words[value]
        raise ValueError(_("必须是以下之一：%(v)s", v=", ".join([*allowed, *words])))

    parse.allowed = tuple(allowed)  # docs/formats.md lists them; a test compares
    parse.labels = words
    return parse


def yuan(value: str) -> int:
    try:
        return parse_yuan(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


def iso_date(value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("日期格式必须是 YYYY-MM-DD")) from None


def positive_decimal(value: str):
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(_("必须是数字")) from None
    if not number.is_finite() or number <= 0:
        raise ValueError(_("必须是正数"))
    return number


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = True
    parse: Callable[[str], Any] = field(default_factory=text)
    default: Any = None
    example: str = ""  # the template's example cell


class Importer:
    """Base of every import. Subclasses set ``name``, ``title`` and ``columns`` and
    implement ``check`` and ``write``; ``__init__`` takes the acting user and options."""

    name: ClassVar[str]
    title: ClassVar[Any]
    columns: ClassVar[list[Column]]
    key: ClassVar[str]  # column that must be unique within the file (or "" for none)
    examples: ClassVar[dict[str, str]] = {}  # the template's example row, by column
    options: ClassVar[dict[str, Any]] = {}  # extra flags: name -> help text

    def __init__(self, actor: Any = None, **options: Any):
        self.actor = actor
        self.opts = options
        self.header: list[str] = []

    def check(self, rows: list[Row]) -> Iterable[RowError]:
        """Cross-row and database checks on rows whose cells all parsed."""
        return ()

    def write(self, rows: list[Row]) -> ImportSummary:
        raise NotImplementedError

    def committed(self) -> None:
        """Called once the import's transaction has committed (not on dry runs)."""

    # helpers for subclasses

    def has_column(self, name: str) -> bool:
        return name in self.header

    @staticmethod
    def lookup(column, keys: Iterable[Any], *extra) -> dict[Any, Any]:
        """``{key: row}`` for the rows of ``column``'s table whose column is in ``keys``,
        fetched in chunks. ``extra`` are further columns to select."""
        keys = list(dict.fromkeys(keys))
        found: dict[Any, Any] = {}
        for chunk in chunks(keys):
            for row in db.session.execute(select(column, *extra).where(column.in_(chunk))):
                found[row[0]] = row
        return found


def template_xlsx(importer: type[Importer]) -> bytes:
    """The import's template: a sheet to fill in (the header and an example row, all
    cells text so codes keep their leading zeros) and a sheet 说明 listing each column,
    whether it is required and the values a choice column accepts."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .tabular import text_width

    book = Workbook()
    sheet = book.active
    sheet.title = str(importer.name)[:31]
    header = [c.name for c in importer.columns]
    example = [importer.examples.get(c.name, "") for c in importer.columns]
    for col, (name, value) in enumerate(zip(header, example, strict=True), start=1):
        head = sheet.cell(row=1, column=col, value=name)
        head.font = Font(bold=True)
        cell = sheet.cell(row=2, column=col, value=value or None)
        cell.data_type = "s"
        cell.number_format = "@"
        width = max(text_width(name), text_width(value)) + 4
        sheet.column_dimensions[head.column_letter].width = width
    notes = book.create_sheet(_("说明"))
    notes.append([_("列"), _("必填"), _("可填的值"), _("示例")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in importer.columns:
        allowed = getattr(column.parse, "allowed", ())
        words = getattr(column.parse, "labels", {})
        values = ", ".join([*allowed, *(f"{w}（{code}）" for w, code in words.items())])
        notes.append(
            [
                column.name,
                _("是") if column.required else _("否"),
                values,
                importer.examples.get(column.name, ""),
            ]
        )
    for letter, width in zip("ABCD", (20, 8, 60, 24), strict=True):
        notes.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class _DryRunRollback(Exception):
    def __init__(self, summary: ImportSummary):
        self.summary = summary


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else GB18030, the
    superset of GBK that Chinese Excel writes."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def decode(data: bytes, encoding: str | None = None) -> str:
    name = encoding or detect_encoding(data)
    try:
        codecs.lookup(name)
    except LookupError:
        raise ImportFailed([RowError(0, "-", _("未知的编码：%(e)s", e=name))]) from None
    try:
        text_ = data.decode(name)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed(
            [RowError(0, "-", _("第 %(l)d 行无法按 %(e)s 解码", l=line, e=name))]
        ) from None
    return text_.removeprefix("\ufeff")


def _records(text_: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells), skipping blank lines."""
    reader = csv.reader(io.StringIO(text_, newline=""))
    previous_end = 0
    for cells in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield start, cells


XLSX_MAGIC = b"PK\x03\x04"  # an XLSX file is a zip archive


def is_xlsx(data: bytes) -> bool:
    return data.startswith(XLSX_MAGIC)


def _xlsx_text(value) -> str:
    """A cell as the CSV text it stands for: 12.0 -> "12", a date -> YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


def _xlsx_records(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the first sheet, skipping blank rows."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # not a workbook openpyxl can read
        raise ImportFailed([RowError(0, "-", _("无法读取 XLSX 文件"))]) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_xlsx_text(v) for v in values]
            while cells and not cells[-1].strip():
                cells.pop()
            if cells:
                yield number, cells
    finally:
        book.close()


def parse_rows(
    importer: Importer, source: str | Iterator[tuple[int, list[str]]]
) -> tuple[list[Row], list[RowError]]:
    """Rows and errors of a CSV text, or of records already read (an XLSX sheet)."""
    records = _records(source) if isinstance(source, str) else source
    errors: list[RowError] = []
    try:
        header_line, header = next(records)
    except StopIteration:
        return [], [RowError(0, "-", _("文件为空，缺少表头行"))]
    except csv.Error as exc:
        return [], [RowError(1, "-", _("CSV 格式错误：%(e)s", e=str(exc)))]
    header = [h.strip() for h in header]
    known = {c.name: c for c in importer.columns}
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(header_line, name, _("列名重复")))
        elif name not in known:
            errors.append(RowError(header_line, name or "-", _("未知的列")))
        seen.add(name)
    for column in importer.columns:
        if column.required and column.name not in seen:
            errors.append(RowError(header_line, column.name, _("缺少必填列")))
    if errors:
        return [], errors
    importer.header = header

    rows: list[Row] = []
    seen_keys: dict[Any, int] = {}
    try:
        for number, cells in records:
            if len(cells) > len(header):
                errors.append(RowError(number, "-", _("字段数多于表头")))
                continue
            cells = cells + [""] * (len(header) - len(cells))
            values: dict[str, Any] = {}
            ok = True
            for name, raw in zip(header, cells, strict=True):
                column = known[name]
                raw = unescape_text(raw.strip())  # our own exports defuse formulas
                if not raw:
                    if column.required:
                        errors.append(RowError(number, name, _("必填")))
                        ok = False
                    else:
                        values[name] = column.default
                    continue
                try:
                    values[name] = column.parse(raw)
                except ValueError as exc:
                    errors.append(RowError(number, name, str(exc)))
                    ok = False
            for column in importer.columns:
                values.setdefault(column.name, column.default)
            key = values.get(importer.key) if importer.key else None
            if key is not None:
                if key in seen_keys:
                    errors.append(
                        RowError(
                            number,
                            importer.key,
                            _("与第 %(r)d 行重复", r=seen_keys[key]),
                        )
                    )
                    ok = False
                else:
                    seen_keys[key] = number
            if ok:
                rows.append(Row(number, values))
    except csv.Error as exc:
        errors.append(RowError(0, "-", _("CSV 格式错误：%(e)s", e=str(exc))))
    return rows, errors


def run_import(
    importer: Importer,
    data: bytes,
    *,
    encoding: str | None = None,
    dry_run: bool = False,
) -> ImportSummary:
    """Validate the whole file, then write it in one transaction, or write nothing.

    Raises ``ImportFailed`` with every error found. With ``dry_run`` the writes run and
    are rolled back, so the summary is exactly what a real run would report.
    """
    source = _xlsx_records(data) if is_xlsx(data) else decode(data, encoding)
    rows, errors = parse_rows(importer, source)
    if rows:
        errors.extend(importer.check(rows))
    if errors:
        db.session.rollback()
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([RowError(0, "-", _("文件中没有数据行"))])
    written: set[str] = set()
    try:
        with unit_of_work(), _tables_written(written):
            summary = importer.write(rows)
            audit.record(
                importer.actor or "cli",
                f"import.{importer.name}",
                object_type="import",
                object_id=importer.name,
                changes={"rows": len(rows), **summary.counts},
            )
            if dry_run:
                summary.dry_run = True
                raise _DryRunRollback(summary)
    except _DryRunRollback as rollback:
        return rollback.summary
    analyze(written)
    importer.committed()
    return summary


_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+"?(\w+)"?', re.IGNORECASE)


class _tables_written:
    """Collects the name of every table the session's connection writes to (INSERT,
    UPDATE, DELETE, COPY) while the block runs."""

    def __init__(self, into: set[str]):
        self.into = into

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        match = _WRITE.match(statement)
        if match:
            self.into.add(match.group(1))

    def __enter__(self) -> None:
        self.connection = db.session.connection()
        event.listen(self.connection, "before_cursor_execute", self._seen)
        db.session.info[WRITTEN_KEY] = self.into  # bulk_insert's COPY names its table here

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if exc_type is None:
                db.session.flush()  # what is still pending is written while we listen
        finally:
            event.remove(self.connection, "before_cursor_execute", self._seen)
            db.session.info.pop(WRITTEN_KEY, None)


def analyze(tables: Iterable[str]) -> None:
    """Refresh the planner's statistics of ``tables`` on PostgreSQL, once an import has
    committed: right after a bulk load the autovacuum daemon has not looked at them yet,
    and a plan made on empty-table statistics turns a 20 ms page into seconds. Other
    databases: nothing."""
    tables = sorted(set(tables))
    if not tables or db.engine.dialect.name != "postgresql":
        return
    quote = db.engine.dialect.identifier_preparer.quote
    db.session.execute(text_("ANALYZE " + ", ".join(quote(t) for t in tables)))
    db.session.commit()


def upload(
    importer: Importer, data: bytes, *, encoding: str | None = None, dry_run: bool = False
) -> tuple[ImportSummary | None, list[RowError] | None]:
    """An upload page's import: ``(summary, None)`` with a success message flashed, or
    ``(None, errors)`` with the failure flashed; the page shows either."""
    from flask import flash

    try:
        summary = run_import(importer, data, encoding=encoding, dry_run=dry_run)
    except ImportFailed as failed:
        flash(failed.message, "danger")
        return None, failed.errors
    flash(_("导入完成：%(line)s", line=summary.line()), "success")
    return summary, None
