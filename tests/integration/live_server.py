"""The real app under gunicorn, for race tests through the HTTP routes.

The project's rule: concurrency is proven through the real routes under several worker
processes (a double click, a replayed confirmation, a buyer and a vendor acting at once),
not only through services with fresh sessions. Service-level race tests share one
process's code paths; a request loads its objects before it acts, and only a real server
shows what that does under contention.

Pieces, each usable on its own (``bench/checkout.py`` uses them too):

``LiveServer``
    ``wsgi:app`` served by gunicorn on a free 127.0.0.1 port, configured from the
    environment exactly as in production (CSRF on, no Stripe keys so the local test
    gateway pays), against a database the caller has built. ``log()`` is the server's
    output, tracebacks of any 500 included.
``Browser``
    One person's browser: a ``requests.Session`` that logs in through the real form and
    sends the session's CSRF token with every POST. ``clone()`` is the same browser in
    another tab (the same cookies), for double clicks.
``concurrently``
    Runs callables in threads released by one barrier, and returns what each returned.
``inputs`` / ``value`` / ``flashes``
    Read form fields (CSRF tokens, one-time tokens) and flashed messages from a page.

In the test suite the ``live_server`` fixture (tests/integration/conftest.py) starts one
server per session on the suite's PostgreSQL test database; a test seeds its data with
the factories and services in its own process (they commit), then drives the server::

    @requires_postgres
    def test_double_click(live_server):
        order = ...                                   # seeded and committed
        buyer = live_server.browser().login(user.email, TEST_PASSWORD)
        page = buyer.get(f"/orders/{order.id}/pay").text
        form = {"token": value(page, "token"), "outcome": "success"}
        tabs = [buyer.clone() for _ in range(10)]
        responses = concurrently(
            [partial(tab.post, f"/orders/{order.id}/pay/test", form) for tab in tabs]
        )
        assert all(r.status_code == 302 for r in responses)
        tabs[0].flashes(responses[0])                 # the message the page then shows

The database is shared, not the process: a test reads the outcome with its own session
(``db.session.expire_all()`` first), and ``live_server.log()`` holds any 500's traceback.

Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# what a started server is given unless the caller says otherwise
SERVER_ENV = {
    "APP_ENV": "development",  # the local test gateway is allowed
    "SECRET_KEY": "live-server-secret",
    "LOGIN_RATE_LIMIT": "100000 per minute",
}
# never inherited from the caller's environment: no real gateway, mail server or Redis
UNSET = (
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "MAIL_SERVER",
    "ALLOW_TEST_GATEWAY",
    "TEST_DATABASE_URL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class LiveServer:
    """``wsgi:app`` under gunicorn. Use as a context manager, or ``start()`` / ``stop()``.

    ``workers`` processes, each with ``threads`` threads (1: gunicorn's sync worker;
    more: gthread). ``env`` adds to or overrides ``SERVER_ENV`` (e.g. Stripe settings).
    """

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 3,
        threads: int = 1,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        start_timeout: float = 30,
    ):
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.env = {**SERVER_ENV, **(env or {})}
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="live_server_", suffix=".log")[1])
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def start(self) -> LiveServer:
        port = free_port()
        env = dict(os.environ)
        for name in UNSET:
            env.pop(name, None)
        env.update(self.env, DATABASE_URL=self.database_url)
        command = [GUNICORN, "--workers", str(self.workers), "--bind", f"{HOST}:{port}"]
        if self.threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(self.threads)]
        command += ["--graceful-timeout", "5", "--log-level", "warning", "wsgi:app"]
        log = self.log_path.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        log.close()
        self.base_url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(self.url("/healthz"), timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not come up on {self.base_url}:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self.base_url + path

    def browser(self) -> Browser:
        return Browser(self.base_url)

    def log(self) -> str:
        """Everything the server wrote (warnings, and the traceback of any 500)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------- reading pages

INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTR = re.compile(r'([\w-]+)="([^"]*)"')
ALERT = re.compile(r'<div class="alert alert-(\w+)[^"]*" role="alert">\s*(.*?)\s*<button', re.S)


def inputs(page: str, name: str) -> list[dict]:
    """The attributes of every ``<input name=...>`` on the page (``checked`` as a bool)."""
    found = []
    for tag in INPUT.findall(page):
        attrs = {k: html.unescape(v) for k, v in ATTR.findall(tag)}
        if attrs.get("name") == name:
            attrs["checked"] = " checked" in tag
            found.append(attrs)
    return found


def value(page: str, name: str) -> str:
    """The value of the first ``<input name=...>`` on the page."""
    found = inputs(page, name)
    if not found:
        raise LookupError(f"no {name} field on the page")
    return found[0].get("value", "")


def flashes(page: str) -> list[tuple[str, str]]:
    """The flashed messages a page shows, as (category, text)."""
    return [(category, html.unescape(text)) for category, text in ALERT.findall(page)]


# ---------------------------------------------------------------- a person's browser


class Browser:
    """One person's browser against a live server. POSTs carry the session's CSRF token
    (read from the page after log-in) and do not follow the redirect, so a test sees
    the answer itself; ``flashes(response)`` follows it and reads the message shown."""

    def __init__(self, base_url: str, timeout: float = 60):
        self.base_url, self.timeout = base_url, timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies: 127.0.0.1 only
        self.csrf = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", True)
        return self.session.get(self.base_url + path, timeout=self.timeout, **kwargs)

    def post(self, path: str, data: Mapping[str, Any] | None = None, **kwargs) -> requests.Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        kwargs.setdefault("allow_redirects", False)
        return self.session.post(self.base_url + path, data=form, timeout=self.timeout, **kwargs)

    def login(self, email: str, password: str) -> Browser:
        page = self.get("/login").text
        response = self.session.post(
            self.base_url + "/login",
            data={"email": email, "password": password, "csrf_token": value(page, "csrf_token")},
            timeout=self.timeout,
        )
        if "退出登录" not in response.text:
            raise RuntimeError(f"{email} could not log in (HTTP {response.status_code})")
        self.csrf = value(response.text, "csrf_token")
        return self

    def clone(self) -> Browser:
        """The same person in another tab: the same cookies and CSRF token, its own
        connection (so concurrent requests do not share a socket)."""
        other = Browser(self.base_url, self.timeout)
        other.session.cookies.update(self.session.cookies)
        other.csrf = self.csrf
        return other

    def flashes(self, response: requests.Response) -> list[tuple[str, str]]:
        """The messages the page after ``response`` shows (its redirect followed with
        the cookies it set), or those on the page itself when it did not redirect."""
        if response.is_redirect:
            other = self.clone()
            other.session.cookies.update(response.cookies)
            return flashes(other.get(response.headers["Location"]).text)
        return flashes(response.text)


# ---------------------------------------------------------------- racing


def concurrently(calls: Iterable[Callable[[], Any]], timeout: float = 120) -> list[Any]:
    """Run each call in its own thread, all released at the same moment by a barrier;
    the results in the calls' order. If any call raised, the first error is raised once
    every thread has finished."""
    calls = list(calls)
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("a concurrent request did not finish (deadlock?)")
    if errors:
        raise errors[0]
    return results
