"""The real app with the public list's page cache switched off: every request renders
the list's body from the database (the listing's cached id orders, which keep a deep
page as cheap as the first, stay on), so the bench measures what a page costs on a
page-cache miss: page 1 against page 400. Served by gunicorn exactly like the real app:
`bench.nocache_app:app`."""

from markupsafe import Markup

import catalog.views
from marketplace import create_app


def _no_page_cache(area, key, render, timeout=None):
    return Markup(str(render()))


catalog.views.fragment = _no_page_cache
app = create_app()
