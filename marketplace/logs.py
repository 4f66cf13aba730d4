"""Logging: one line per event, JSON in production, each carrying the request's id.

Every request gets an id: the ``X-Request-ID`` the proxy in front sent (nginx's
``$request_id``, see deploy/nginx.conf), when it is a plausible id, or a fresh one. The
id is answered in the response's ``X-Request-ID`` header (gunicorn's access log line
reads it from there, gunicorn.conf.py) and added to every log record written while the
request runs, so one request's lines can be found together across nodes.

``LOG_FORMAT=json`` (the default when ``APP_ENV=production``) writes each record as one
JSON object (python-json-logger); ``text`` the classic line for a terminal.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# what we accept from outside: a proxy's id, not arbitrary text in our logs
_PLAUSIBLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
NO_REQUEST = "-"

JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def current_request_id() -> str:
    """The running request's id, or ``-`` outside a request (CLI, start-up)."""
    if has_request_context():
        return g.get("request_id", NO_REQUEST)
    return NO_REQUEST


class RequestIdFilter(logging.Filter):
    """Stamps every record with the request id (set on the handler, so records of every
    logger, ours and the libraries', carry it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT)


def make_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter() if log_format == "json" else text_formatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(app: Flask) -> None:
    """The root logger writes to stderr in the configured format; the request id hooks
    run on every request (tests included, so they are tested)."""
    app.before_request(_assign_request_id)
    app.after_request(_answer_request_id)
    if app.debug or app.testing:
        return
    root = logging.getLogger()
    if any(getattr(h, "_marketplace", False) for h in root.handlers):
        return  # one handler per process, however many apps it builds
    handler = make_handler(app.config["LOG_FORMAT"])
    handler._marketplace = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])


def _assign_request_id() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _PLAUSIBLE_ID.match(given) else uuid.uuid4().hex


def _answer_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    return response
