"""Small helpers views share: safe redirects, pagination arguments, field validators."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from wtforms.validators import Regexp

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


def page_arg() -> int:
    """The ?page= argument: a positive integer, 1 for anything else."""
    try:
        page = int(request.args.get("page", 1))
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), 100_000)


def page_size() -> int:
    return current_app.config["PAGE_SIZE"]
