"""Text messages: the interface every SMS provider's sender implements, and the sender
used until one is configured, which writes each message to the log."""

from __future__ import annotations

import logging
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogSmsSender:
    """Development and tests: the message goes to the log, nowhere else."""

    def __init__(self, logger: logging.Logger = log):
        self.log = logger
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        self.log.info("sms (no SMS provider configured) to %s: %s", phone, text)


def init_sms(app: Flask, sender: SmsSender | None = None) -> None:
    app.extensions["sms"] = sender or LogSmsSender()


def send_sms(phone: str, text: str) -> None:
    current_app.extensions["sms"].send(phone, text)
