"""Short-lived caching of public page fragments, invalidated by generation.

A fragment's key carries its area's generation number; a service that changes what the
fragment shows calls ``bump(area)`` and every cached fragment of that area is bypassed at
once, on every node (the generation lives in the shared cache). The timeout bounds what
any path that forgets to bump can show.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from .extensions import cache

TIMEOUT = 60  # seconds


def generation(area: str) -> int:
    value = cache.get(f"gen:{area}")
    if value is None:
        value = 1
        cache.set(f"gen:{area}", value, timeout=0)
    return int(value)


def bump(area: str) -> None:
    """Invalidate every cached fragment of ``area`` (call after the change commits)."""
    try:
        cache.set(f"gen:{area}", generation(area) + 1, timeout=0)
    except Exception:  # a cache outage must never undo or block a business change
        import logging

        logging.getLogger(__name__).exception("cache bump of %s failed", area)


def fragment(area: str, key: str, render: Callable[[], str], timeout: int = TIMEOUT) -> Markup:
    """The cached HTML for ``key`` in ``area``, rendering and storing it when missing."""
    full_key = f"frag:{area}:{generation(area)}:{key}"
    html = cache.get(full_key)
    if html is None:
        html = str(render())
        cache.set(full_key, html, timeout=timeout)
    return Markup(html)
