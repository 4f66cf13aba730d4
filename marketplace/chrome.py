"""The page chrome every page shares, rendered once per language instead of on every request.

A visitor's navigation bar and every page's footer are the same on every page of one
language, but for two values of the navigation bar: the cart count and the page to come
back to after switching the language. (A visitor's language forms carry no CSRF token,
so a visitor's page opens no session: main.set_language checks the origin instead.)

Rendering them cost a good part of every page: a dozen translations, url_for calls and
permission checks each time (bench/middleware.py). Now each is rendered once per
application, language and script root, with markers where the per-request values go,
split at the markers, and joined with the escaped values on each request. A signed-in
person's bar (menus by role, inbox count) is still rendered for every request by
base.html.

In debug mode templates change under a running server, so nothing is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from flask import current_app, g, render_template, request
from markupsafe import Markup, escape

# The markers stand where a per-request value goes; they cannot occur in rendered text
# (an ASCII record separator around a name).
_MARKER = "\x1e{}\x1e"
_SPLIT = re.compile("\x1e([a-z_]+)\x1e")
_STORE = "marketplace.chrome"
_CANONICAL = "chrome_canonical_page"  # g: the page a kept whole page comes back to


def _parts(template: str, locale: str, names: tuple[str, ...]) -> list[str]:
    """``template`` rendered with a marker for each of ``names``, split at the markers:
    literal HTML at even positions, the name of a value at odd ones. Kept per app,
    template, language and script root."""
    store = current_app.extensions.setdefault(_STORE, {})
    key = (template, locale, request.script_root)
    parts = store.get(key)
    if parts is None:
        html = render_template(template, **{name: _MARKER.format(name) for name in names})
        parts = _SPLIT.split(html)
        if not current_app.debug:
            store[key] = parts
    return parts


def _join(parts: list[str], values: dict[str, object]) -> Markup:
    out = []
    for index, part in enumerate(parts):
        out.append(part if index % 2 == 0 else str(escape(values[part])))
    return Markup("".join(out))


def visitor_nav(cart: int, locale: str) -> Markup:
    """The navigation bar of someone not signed in, with ``cart`` units in the cart, in
    the page's ``locale``."""
    parts = _parts("_nav.html", locale, ("nav_cart", "nav_next"))
    next_page = g.get(_CANONICAL) or request.full_path
    values = {"nav_cart": cart, "nav_next": next_page}
    return _join(parts, values)


def page_footer(locale: str) -> Markup:
    """The footer and the shared script tag, in the page's ``locale``."""
    return _join(_parts("_footer.html", locale, ()), {})


def visitor_page(areas: Sequence[str], key: str, render: Callable[[], str], canonical: str) -> str:
    """A page the same for every visitor (home, /impact), kept whole for a visitor who
    sends no session or remember-me cookie: such a visitor has no cart, no flashed
    message and no account, so the page differs by nothing but its language (part of
    ``key``). The kept page comes back to ``canonical`` after a language switch (the
    page's own URL without the parameters it does not read, such as a share's tracking
    ones), so distinct links to one page share one entry. It is dropped with ``areas``
    (``marketplace.fragments``). Anyone with a session gets ``render()`` afresh."""
    from .fragments import fragment

    config = current_app.config
    cookies = request.cookies
    if (
        config["SESSION_COOKIE_NAME"] in cookies
        or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
    ):
        return render()

    def render_for_everyone() -> str:
        g.setdefault(_CANONICAL, canonical)
        return render()

    return str(fragment(areas, f"page:{key}", render_for_everyone))
