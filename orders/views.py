"""Views of the orders package (filled in by its issue)."""

from . import bp  # noqa: F401
