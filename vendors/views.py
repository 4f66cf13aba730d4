"""Views of the vendors package (filled in by its issue)."""

from . import bp  # noqa: F401
