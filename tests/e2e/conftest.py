"""Browser tests: Playwright drives Debian's Chromium against the real app, served on a
free 127.0.0.1 port from a background thread.

The live server has its own SQLite file, so the per-test cleanup of the main test
database (tests/conftest.py) never touches it; arrange data with ``live.run(...)`` or
``with live.app_context(): ...``, which runs the factories and services against the live
app's database. That database is emptied after every e2e test.

Without Chromium the tests skip, unless REQUIRE_E2E=1 (CI sets it): then they fail.
Every test leaves a full-page screenshot in tests/e2e/screenshots/<test name>.png.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.extensions import cache, db

from ..conftest import TEST_PASSWORD, clean_database

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
HOST = "127.0.0.1"
# Playwright adds its own switches against background traffic; on top of them the
# resolver rule answers "not found" for every host name, so Chromium's own services
# (autofill, sign-in, updates) cannot even look up an outside address. Pages use the
# 127.0.0.1 literal, which needs no lookup.
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]
DEFAULT_TIMEOUT_MS = 10_000

T = TypeVar("T")


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_E2E", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"REQUIRE_E2E is set but the browser tests cannot run: {reason}")
    pytest.skip(reason)


@dataclass
class LiveServer:
    app: Flask
    url: str

    def app_context(self):
        """Push the live app's context: factories and services then use its database."""
        return self.app.app_context()

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` inside the live app's context and return its result.

        ORM objects expire when the context closes, so return plain values (ids, emails).
        """
        with self.app.app_context():
            return fn()

    def outbox(self):
        """``with live.outbox() as mails:`` the mail the live app sends meanwhile
        (Flask-Mail records it under TESTING and sends nothing)."""
        return self.app.extensions["mailer"].mail.record_messages()

    @staticmethod
    def link(mail, path: str) -> str:
        """The one address in ``mail`` whose path starts with ``path``."""
        [url] = re.findall(r"http://\S+" + re.escape(path) + r"\S*", mail.body)
        return url


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("e2e")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "e2e-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'e2e.db'}",
            "WTF_CSRF_ENABLED": True,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "MAIL_SERVER": "127.0.0.1",  # TESTING: recorded by Flask-Mail, never sent
            "RATELIMIT_STORAGE_URI": "memory://",
            "UPLOAD_FOLDER": str(base / "uploads"),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    with app.app_context():
        db.create_all()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://{HOST}:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_live_database(request) -> Iterator[None]:
    """Each e2e test starts from an empty live database and an empty cache (a cached
    product list of the previous test would show products that no longer exist)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    live = request.getfixturevalue("live_server")
    yield
    with live.app_context():
        db.session.remove()
        clean_database()
        cache.clear()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("chromium is not on PATH (apt-get install -y chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is in requirements-dev
        _unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What the browser saw go wrong: script errors, CSP violations, outside requests."""

    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        if self.page_errors:
            parts.append("script errors: " + "; ".join(self.page_errors))
        if self.csp_violations:
            parts.append("CSP violations: " + "; ".join(self.csp_violations))
        if self.blocked_requests:
            parts.append("requests off 127.0.0.1 (blocked): " + ", ".join(self.blocked_requests))
        return "\n".join(parts)


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser, live_server, page_problems) -> Iterator:
    """A fresh browser context (no cookies) per test, with ``base_url`` set to the live
    server. Any request to another host is aborted and, like a script error or a CSP
    violation, fails the test."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 800},
        service_workers="block",
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    origin = live_server.url + "/"

    def off_site(url: str) -> bool:
        return not (url.startswith(origin) or url.startswith(("data:", "about:", "blob:")))

    def block(route) -> None:
        page_problems.blocked_requests.append(route.request.url)
        route.abort()

    context.route(off_site, block)
    page = context.new_page()

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            page_problems.csp_violations.append(message.text)

    page.on("pageerror", lambda exc: page_problems.page_errors.append(str(exc)))
    page.on("console", on_console)
    yield page
    context.close()
    problems = page_problems.summary()
    if problems:
        pytest.fail(problems)


@pytest.fixture(autouse=True)
def _screenshot(request) -> Iterator[None]:
    """After each test that uses a page, save a full-page screenshot (pass or fail).

    The page is requested here, at set-up, so it is torn down after the screenshot.
    """
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    yield
    if page.is_closed():
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class BrowserAuth:
    """Log in and out through the real forms, as a person would."""

    def __init__(self, page):
        self.page = page

    def login(self, email: str, password: str = TEST_PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        form = page.locator("main form")
        form.get_by_label("邮箱").fill(email)
        form.get_by_label("密码", exact=True).fill(password)
        form.get_by_role("button", name="登录").click()
        page.get_by_test_id("user-menu").wait_for()

    def logout(self) -> None:
        page = self.page
        page.get_by_test_id("user-menu").click()
        page.get_by_role("button", name="退出登录").click()
        page.get_by_text("您已退出登录。").wait_for()


@pytest.fixture
def browser_auth(page) -> BrowserAuth:
    return BrowserAuth(page)
