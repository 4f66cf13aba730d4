"""Views of the catalog package (filled in by its issue)."""

from . import bp  # noqa: F401
