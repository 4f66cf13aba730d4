"""Logs a person can follow: every request has an id, answered in X-Request-ID and
stamped on every log line written while it runs; LOG_FORMAT=json writes one JSON object
a line (marketplace/logs.py)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import current_app

from marketplace.config import ConfigError, load_config
from marketplace.logs import REQUEST_ID_HEADER, make_handler


def test_every_response_carries_a_fresh_request_id(client):
    first = client.get("/healthz").headers[REQUEST_ID_HEADER]
    second = client.get("/healthz").headers[REQUEST_ID_HEADER]
    assert len(first) == 32 and first != second


def test_the_proxys_request_id_is_kept(client):
    response = client.get("/healthz", headers={REQUEST_ID_HEADER: "nginx-0123456789abcdef"})
    assert response.headers[REQUEST_ID_HEADER] == "nginx-0123456789abcdef"


@pytest.mark.parametrize("given", ["short", "has spaces in it", "x" * 65, "<script>alert(1)"])
def test_an_implausible_request_id_is_replaced(client, given):
    answered = client.get("/healthz", headers={REQUEST_ID_HEADER: given}).headers[REQUEST_ID_HEADER]
    assert answered != given and len(answered) == 32


def test_error_pages_carry_the_request_id_too(client):
    response = client.get("/no-such-page", headers={REQUEST_ID_HEADER: "abcdef123456"})
    assert response.status_code == 404
    assert response.headers[REQUEST_ID_HEADER] == "abcdef123456"


def _capture(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(log_format)
    handler.setStream(stream)
    logger = logging.getLogger("marketplace.test_logging")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_json_line_written_in_a_request_names_its_request(app):
    logger, stream = _capture("json")
    with app.test_request_context("/", headers={REQUEST_ID_HEADER: "req-0123456789"}):
        current_app.preprocess_request()
        logger.info("订单 %s 已付款", "20261130-0001")
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "订单 20261130-0001 已付款"
    assert line["request_id"] == "req-0123456789"
    assert line["level"] == "INFO"
    assert line["logger"] == "marketplace.test_logging"
    assert "time" in line


def test_a_line_outside_any_request_says_so(app):
    logger, stream = _capture("json")
    with app.app_context():
        logger.warning("from the command line")
    assert json.loads(stream.getvalue())["request_id"] == "-"


def test_the_text_format_names_the_request_too(app):
    logger, stream = _capture("text")
    with app.test_request_context("/", headers={REQUEST_ID_HEADER: "req-0123456789"}):
        current_app.preprocess_request()
        logger.info("hello")
    assert "[req-0123456789]: hello" in stream.getvalue()


def test_json_is_the_production_default_and_text_the_development_one(tmp_path):
    production = load_config(
        str(tmp_path),
        {"APP_ENV": "production", "SECRET_KEY": "k", "DATABASE_URL": "postgresql://x/y"},
    )
    assert production["LOG_FORMAT"] == "json"
    assert load_config(str(tmp_path), {})["LOG_FORMAT"] == "text"
    assert load_config(str(tmp_path), {"LOG_FORMAT": "json"})["LOG_FORMAT"] == "json"


@pytest.mark.parametrize("name, value", [("LOG_FORMAT", "xml"), ("LOG_LEVEL", "LOUD")])
def test_an_unknown_log_setting_refuses_to_start(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(str(tmp_path), {name: value})
