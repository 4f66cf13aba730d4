"""What each layer of the app costs an anonymous GET of a page without queries (a benchmark,
not a test).

    .venv/bin/python bench/middleware.py [--requests 14000] [--database-url URL]

In one process, through Werkzeug's test client with no cookies kept (as a first-time
visitor, like wrk), it times ``/bench/minimal`` (bench/minimal_app.py: the app's factory,
extensions, hooks and base template, no query of its own) beside the bare Flask page
(bench/bare_app.py), then times the minimal page again with one layer taken away at a
time, and prints the microseconds per request each layer costs:

- security headers (Flask-Talisman's hooks), the request id, the NUL check, the
  translations (every ``_()`` in the base template), ``url_for``, and the base template
  itself (the page rendered with the bare page's template instead).

Two layers this script measured before are gone from a visitor's page, so they have no row:
the rate limiter's per-request hook (removed: every limit is a route decorator's) and the
CSRF token of the language forms with the session cookie it signed (a visitor's language
forms carry none: docs/architecture.md, "What every public page costs").

No network, and CPU time of this process (time.process_time), not wall time, so other
processes on the machine disturb it little. This measures Python work per request, which
is what a gunicorn worker spends on top of HTTP parsing. bench/pages.py measures the same
pages over HTTP with wrk; the two together say where the time goes. The load average is
printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def per_request_us(client, path: str, requests: int, rounds: int = 7) -> float:
    """The fastest of ``rounds`` rounds' mean microseconds per GET of ``path`` (the
    fastest round is the one the other processes on the machine disturbed least)."""
    for _ in range(100):
        client.get(path)
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests // rounds):
            client.get(path)
        samples.append((time.process_time() - started) / (requests // rounds) * 1e6)
    return min(samples)


def calls_per_request(client, path: str, requests: int = 200) -> float:
    """Python function calls per GET of ``path`` (cProfile's count): the same on every
    run whatever the machine is doing, where microseconds here vary by about 100 us."""
    import cProfile
    import pstats

    for _ in range(20):
        client.get(path)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        client.get(path)
    profile.disable()
    return pstats.Stats(profile).total_calls / requests


@contextmanager
def without_hooks(app, *names: str):
    """The app with the before/after request hooks whose qualified name contains one of
    ``names`` taken out."""

    def keep(function) -> bool:
        target = getattr(function, "func", function)
        qualname = f"{target.__module__}.{getattr(target, '__qualname__', '')}"
        return not any(name in qualname for name in names)

    saved = {}
    for registry in (app.before_request_funcs, app.after_request_funcs):
        for key, functions in registry.items():
            saved[(id(registry), key)] = list(functions)
            registry[key] = [f for f in functions if keep(f)]
    try:
        yield
    finally:
        for registry in (app.before_request_funcs, app.after_request_funcs):
            for key in registry:
                registry[key] = saved[(id(registry), key)]


@contextmanager
def replaced_globals(app, **values):
    saved = {name: app.jinja_env.globals.get(name) for name in values}
    app.jinja_env.globals.update(values)
    try:
        yield
    finally:
        app.jinja_env.globals.update(saved)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=14000)
    parser.add_argument("--database-url", help="DATABASE_URL for the app (no query runs)")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url

    from flask import render_template

    from bench.bare_app import PAGE as BARE_PAGE
    from bench.bare_app import app as bare
    from bench.minimal_app import app

    bare_client = bare.test_client(use_cookies=False)
    client = app.test_client(use_cookies=False)
    path = "/bench/minimal"

    def measure() -> float:
        return per_request_us(client, path, args.requests)

    one, five, fifteen = os.getloadavg()
    print(f"load average at start: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)")
    bare_us = per_request_us(bare_client, "/", args.requests)
    full_us = measure()
    bare_calls = calls_per_request(bare_client, "/")
    full_calls = calls_per_request(client, path)
    print(f"{'':<46}{'us':>9}{'calls':>9}")
    print(f"{'bare Flask page':<46}{bare_us:>9.0f}{bare_calls:>9.0f}")
    print(f"{'app minimal page, every layer':<46}{full_us:>9.0f}{full_calls:>9.0f}")
    print(
        f"{'  app cost over the bare page':<46}{full_us - bare_us:>9.0f}"
        f"{full_calls - bare_calls:>9.0f}"
    )
    print(f"\n{'layer taken away':<46}{'us left':>9}{'us cost':>9}{'calls cost':>12}")

    def row(label: str, context: Callable) -> None:
        # rounds of the full page and of the page without the layer alternate, and each
        # side keeps its fastest round: drift in the machine's load hits both alike
        full, left = [], []
        for _ in range(7):
            full.append(per_request_us(client, path, args.requests // 7, rounds=1))
            with context():
                left.append(per_request_us(client, path, args.requests // 7, rounds=1))
        with context():
            calls = calls_per_request(client, path)
        print(
            f"{label:<46}{min(left):>9.0f}{min(full) - min(left):>9.0f}{full_calls - calls:>12.0f}"
        )

    row("security headers (Talisman)", lambda: without_hooks(app, "talisman"))

    row("request id", lambda: without_hooks(app, "request_id"))
    row("NUL check", lambda: without_hooks(app, "refuse_nul"))

    def identity(text, **variables):
        return text % variables if variables else text

    row(
        "translations (_ in templates)",
        lambda: replaced_globals(app, _=identity, gettext=identity),
    )
    urls: dict = {}

    def cached_url_for(endpoint, **values):
        key = (endpoint, tuple(sorted(values.items())))
        if key not in urls:
            from flask import url_for

            urls[key] = url_for(endpoint, **values)
        return urls[key]

    row("url_for", lambda: replaced_globals(app, url_for=cached_url_for))

    @contextmanager
    def bare_template():
        view = app.view_functions["minimal"]
        items = [{"id": n, "name": f"商品 {n}", "price": f"{n * 3.5:.2f}"} for n in range(1, 25)]
        template = app.jinja_env.from_string(BARE_PAGE)  # compiled once, like bare_app's
        app.view_functions["minimal"] = lambda: render_template(template, items=items)
        try:
            yield
        finally:
            app.view_functions["minimal"] = view

    row("base template (bare page's instead)", bare_template)
    one, five, fifteen = os.getloadavg()
    print(f"\nload average at end: {one:.2f} {five:.2f} {fifteen:.2f}")


if __name__ == "__main__":
    main()
