"""Public catalog pages (the home page section, the product list and product pages)."""

from flask import render_template
from markupsafe import Markup

from . import bp  # noqa: F401


def featured_section() -> Markup:
    """The home page's featured products section."""
    return Markup(render_template("catalog/_featured.html"))
