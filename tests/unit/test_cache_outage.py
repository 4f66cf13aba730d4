"""The shared cache only saves work: when it does not answer, fragments and values are
computed afresh, bumps are skipped, and the outage is logged (not once per request)."""

from __future__ import annotations

import logging

import pytest

from marketplace import fragments
from marketplace.extensions import cache


@pytest.fixture
def cache_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(cache, "get", refuse)
    monkeypatch.setattr(cache, "set", refuse)
    monkeypatch.setattr(fragments, "_last_outage_log", 0.0)


def test_a_fragment_is_rendered_without_the_cache(app, cache_down):
    calls = []
    html = fragments.fragment("catalog", "k", lambda: calls.append(1) or "<p>列表</p>")
    assert str(html) == "<p>列表</p>"
    assert str(fragments.fragment("catalog", "k", lambda: calls.append(1) or "<p>列表</p>"))
    assert len(calls) == 2  # nothing cached, nothing failed


def test_a_value_is_computed_without_the_cache(app, cache_down):
    assert fragments.cached("sales", "total", lambda: 42) == 42


def test_a_bump_without_the_cache_does_not_fail_the_change(app, cache_down):
    fragments.bump("catalog")  # no exception


def test_the_outage_is_logged_once_a_minute_not_per_request(app, cache_down, caplog):
    with caplog.at_level(logging.WARNING, logger="marketplace.fragments"):
        for _ in range(5):
            fragments.fragment("catalog", "k", lambda: "x")
    warnings = [r for r in caplog.records if "page cache unavailable" in r.getMessage()]
    assert len(warnings) == 1
