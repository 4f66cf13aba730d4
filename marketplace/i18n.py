"""Locale choice: the user's saved language, else the cookie, else Simplified Chinese."""

from functools import cache

from babel import Locale
from flask import current_app, has_request_context, request
from flask_login import current_user

LOCALE_COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    # commands (imports, demo) run outside any request and get the default locale
    cookie = request.cookies.get(LOCALE_COOKIE) if has_request_context() else None
    if cookie in languages:
        return cookie
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@cache
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def select_babel_locale() -> Locale:
    """Flask-Babel's locale selector: ``select_locale`` as a ``babel.Locale``, parsed once
    per code and process instead of on every request (Flask-Babel takes a Locale as it
    is; parsing the code cost a request about 70 us, bench/middleware.py)."""
    return _parsed(select_locale())
