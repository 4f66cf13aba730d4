"""gunicorn's settings for a production node (gunicorn reads this file from the working
directory; `gunicorn wsgi:app` from the project root uses it). Every value can be
overridden by the environment variable named beside it, or on the command line.

    .venv/bin/gunicorn wsgi:app                 # what deploy/marketplace.service runs

Logs go to stderr, for journald: gunicorn's own lines and one access line per request,
each carrying the request id the app answers in ``X-Request-ID`` (marketplace/logs.py),
as JSON objects when ``LOG_FORMAT=json`` (the production default).
"""

import json
import logging
import multiprocessing
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger

production = os.environ.get("APP_ENV") == "production"
log_format = os.environ.get("LOG_FORMAT") or ("json" if production else "text")

# nginx in front (deploy/nginx.conf) talks to this address
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# sync workers: each request runs in its own process, blocking on PostgreSQL; the usual
# 2 x cores + 1 keeps the CPUs busy while some workers wait on the database
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"

# a request that runs longer than this is killed (its transaction rolls back)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# on reload or stop, workers finish the requests in hand for this long
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# recycle workers now and then (bounded memory growth), not all at once. A new worker
# imports the app afresh: about 3 s of CPU (measured on the 2-CPU development machine),
# so recycling every 2,000 requests cost a busy node most of a core and stalled the
# worker's requests (p99 of seconds in bench/pages.py); every 50,000 it is a few
# minutes apart at peak traffic
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10

# the reverse proxy sets X-Forwarded-For / -Proto; the app trusts one hop (ProxyFix)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# one line per request in production; development servers (the tests' live server, the
# benchmarks) write none unless GUNICORN_ACCESS_LOG=- asks for it
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-" if production else "") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


class JsonAccessLogger(Logger):
    """One JSON object per request (json.dumps, so any byte of a hostile path or user
    agent stays inside its string); the request id is the one the app answered."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "remote": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": resp.status_code,
            "bytes": atoms["B"],
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": atoms.get("{x-request-id}o", "-"),
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # a log line must never fail a request
            self.exception("access log line failed")


class NoRequest(logging.Filter):
    """gunicorn's own lines belong to no request: ``request_id`` is ``-`` (the app's
    lines carry theirs, marketplace/logs.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", "-")
        return True


if log_format == "json":
    logger_class = JsonAccessLogger
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": NoRequest}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            },
            # an access line is already a JSON object: written as it is
            "raw": {"format": "%(message)s"},
        },
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "raw",
                "stream": "ext://sys.stdout",
            },
        },
        # the app adds its own handler to the root logger (marketplace/logs.py)
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {
                "handlers": ["error"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
