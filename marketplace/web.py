"""Small helpers views share: safe redirects, pagination arguments, ids and dates from the
query string or a form, field validators, a service's field errors on a form, and the URL
converters for ids."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from flask import abort, current_app, flash, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter
from wtforms.validators import NumberRange, Regexp

from .clock import clamp_date
from .errors import ValidationError

# The largest id each kind of primary key holds. An id from a person (URL, query string,
# form) beyond its column's range is simply "no such row": never sent to the database,
# where PostgreSQL would fail with "integer out of range" and SQLite with an overflow.
MAX_ID = 2**31 - 1  # INTEGER keys: most tables
MAX_BIGID = 2**63 - 1  # BIGINT keys: the ledger's tables (orders, lines, payments, ...)

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def cn_mobile(message=None) -> Regexp:
    return Regexp(CN_MOBILE, message=message or _l("请输入有效的 11 位手机号码"))


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login or a language switch."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def posted_from_this_site() -> bool:
    """Whether the browser says this request comes from one of this site's own pages:
    ``Sec-Fetch-Site: same-origin`` where the browser sends it (every current one), else
    an ``Origin`` (or, failing that, a ``Referer``) of this very scheme and host. A page
    on another site cannot make a browser say either; a request with none of them (not
    a browser's form) is not from here."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    here = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return origin == here
    parts = urlsplit(request.headers.get("Referer", ""))
    return f"{parts.scheme}://{parts.netloc}" == here


def page_arg() -> int:
    """The ?page= argument: a positive integer, 1 for anything else."""
    try:
        page = int(request.args.get("page", 1))
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), 100_000)


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def to_id(value: object, maximum: int = MAX_ID) -> int | None:
    """An id from text a person controls: a positive whole number within the column's
    range, else None (blank, "abc", "-1", "²", 2**31 for an INTEGER key...)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            return None
        number = int(text)
    return number if 0 < number <= maximum else None


def id_arg(name: str, maximum: int = MAX_ID) -> int | None:
    """The ``?name=`` id of the query string, or None when missing or out of range."""
    return to_id(request.args.get(name), maximum)


def optional_id(value: object) -> int | None:
    """``coerce`` for a select of ids where blank means none: anything but blank or a
    valid id is a form error (WTForms turns the ValueError into one)."""
    if value in (None, "", "None"):
        return None
    found = to_id(value)
    if found is None:
        raise ValueError("not an id")
    return found


def id_or_zero(value: object) -> int:
    """``coerce`` for a select of ids whose 0 stands for "none chosen" or "a new one"."""
    if value in (0, "0"):
        return 0
    found = to_id(value)
    if found is None:
        raise ValueError("not an id")
    return found


def id_field_range(message=None) -> NumberRange:
    """Validator for an id in an IntegerField: a form error rather than a database error."""
    return NumberRange(min=1, max=MAX_ID, message=message or _l("编号无效"))


def date_arg(name: str) -> date | None:
    """The ``?name=YYYY-MM-DD`` date of the query string; None when missing or malformed.
    A date outside the years the app works with (``clock.EARLIEST``..``clock.LATEST``:
    ``0001-01-01``, ``9999-12-31``) is clamped to them, so that converting it to a UTC
    bound can never overflow."""
    raw = request.args.get(name, "").strip()
    if len(raw) != 10:
        return None
    try:
        return clamp_date(date.fromisoformat(raw))
    except ValueError:
        return None


def form_errors(form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on ``form``: each message beside its field,
    and the message flashed when none of them could be shown there. A form shows an error
    for a name that is not a plain field of its own (the product form's price tiers, a
    rule across rows) by declaring an attribute ``<name>_error``."""
    shown = False
    for name, message in exc.errors.items():
        if hasattr(form, f"{name}_error"):
            setattr(form, f"{name}_error", message)
        elif name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            continue
        shown = True
    if not shown:
        flash(exc.message or "；".join(exc.errors.values()), "danger")


def flash_form_errors(form) -> None:
    """Flash each of the form's own validation messages (for a form posted from a page
    that does not show it again)."""
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "danger")


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id that fits an INTEGER key, else the route does
    not match (404). Registered in place of Werkzeug's ``int``."""

    bound = MAX_ID

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        max = self.bound if max is None else max
        if signed and min is None:
            min = -self.bound - 1
        super().__init__(map, fixed_digits, min, max, signed)


class BigIdConverter(IdConverter):
    """``<bigint:...>``: an id that fits a BIGINT key (the ledger's tables)."""

    bound = MAX_BIGID


def refuse_nul_characters() -> None:
    """Before every request: a NUL character in a form field or a query parameter is a
    400. No text a person types holds one, and PostgreSQL refuses to store it. A NUL
    reaches the query's values only as ``%00`` (or a raw NUL byte), so a query string
    without either is not decoded here; a GET or HEAD has no form."""
    query = request.query_string
    if (b"%00" in query or b"\x00" in query) and any(
        "\x00" in value for _, value in request.args.items(multi=True)
    ):
        abort(400)
    if request.method not in ("GET", "HEAD", "OPTIONS") and any(
        "\x00" in value for _, value in request.form.items(multi=True)
    ):
        abort(400)
