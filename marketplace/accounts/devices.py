"""The known-device cookie: after a successful log-in the browser keeps a signed note of
the (hashed) e-mail addresses that logged in on it. Such a browser is exempt from the
per-e-mail ceiling on failed log-ins, so an attacker who spends that ceiling from many
addresses cannot lock the owner out of their own phone or computer. It is no
credential: the password is still needed, and the per-IP limit still applies."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "known_device"
KEPT = 5  # addresses remembered per browser (a shared family computer)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="known-device")


def _digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _lifetime() -> timedelta:
    return timedelta(days=current_app.config["KNOWN_DEVICE_DAYS"])


def _known() -> list[str]:
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    try:
        known = _serializer().loads(value, max_age=_lifetime().total_seconds())
    except BadSignature:
        return []
    return [d for d in known if isinstance(d, str)] if isinstance(known, list) else []


def is_known(email: str) -> bool:
    """Has ``email`` (normalised) logged in from this browser before?"""
    return _digest(email) in _known()


def remember(response: Response, email: str) -> None:
    """Note on ``response`` that ``email`` logged in from this browser."""
    digest = _digest(email)
    known = [digest] + [d for d in _known() if d != digest]
    config = current_app.config
    response.set_cookie(
        COOKIE,
        _serializer().dumps(known[:KEPT]),
        max_age=int(_lifetime().total_seconds()),
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
