"""Configuration from the environment (see docs/formats.md, "Configuration")."""

import os
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import DEFAULT_TIMEZONE


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app can run with."""


def _instance_secret(instance_path: str) -> str:
    """Development only: a key generated once and kept in instance/secret_key."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _yuan_fen(name: str, value: str) -> int:
    from .money import MoneyError, parse_yuan

    try:
        return parse_yuan(value)
    except MoneyError:
        raise ConfigError(f"{name}={value!r} is not an amount of yuan") from None


def _percent(name: str, value: str, top: Decimal = Decimal(100)) -> Decimal:
    try:
        number = Decimal(value)
        ok = 0 <= number <= top and number == round(number, 2)
    except InvalidOperation:
        ok = False
    if not ok:
        raise ConfigError(f"{name}={value!r} is not a number from 0 to {top}, two decimals")
    return number


def reward_tiers(value: str) -> tuple[tuple[int, int], ...]:
    """``REWARD_TIERS`` (``4000:1000,8000:2000,10000:3000``: net income in yuan reached
    -> reward in yuan) as ``((threshold fen, reward fen), ...)``, thresholds rising."""
    tiers = []
    for part in value.split(","):
        threshold, sep, reward = part.strip().partition(":")
        if not sep:
            raise ConfigError(f"REWARD_TIERS={value!r}: write each tier as INCOME:REWARD")
        tiers.append((_yuan_fen("REWARD_TIERS", threshold), _yuan_fen("REWARD_TIERS", reward)))
    thresholds = [t for t, _r in tiers]
    if any(t <= 0 for t in thresholds) or thresholds != sorted(set(thresholds)):
        raise ConfigError(f"REWARD_TIERS={value!r}: incomes must be above 0 and rising")
    return tuple(tiers)


def load_config(instance_path: str, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables.

    ``APP_ENV=production`` switches on the production rules: SECRET_KEY is required,
    cookies are Secure, and an SQLite database is refused unless ALLOW_SQLITE=1.
    """
    env = dict(os.environ if env is None else env)
    production = env.get("APP_ENV", "development") == "production"
    database_url = env.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "marketplace.db")
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    secret_key = env.get("SECRET_KEY")
    if production:
        if not secret_key:
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        if database_url.startswith("sqlite") and not _bool(env.get("ALLOW_SQLITE")):
            raise ConfigError(
                "APP_ENV=production refuses SQLite; set DATABASE_URL to PostgreSQL "
                "(or ALLOW_SQLITE=1 for a single-node trial)"
            )
    if not secret_key:
        secret_key = _instance_secret(instance_path)

    timezone = env.get("TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE={timezone!r} is not a known time zone") from None

    fee_rate = env.get("SETTLEMENT_FEE_RATE", "0")
    try:
        fee_ok = 0 <= Decimal(fee_rate) <= 100 and Decimal(fee_rate) == round(Decimal(fee_rate), 2)
    except InvalidOperation:
        fee_ok = False
    if not fee_ok:
        raise ConfigError(f"SETTLEMENT_FEE_RATE={fee_rate!r} is not a percent from 0 to 100")

    pattern = env.get("CERTIFICATE_NO_PATTERN", "海口扶贫认定〔{year}〕第{seq:04d}号")
    try:
        pattern.format(year=2026, seq=1)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            f"CERTIFICATE_NO_PATTERN={pattern!r} may name only {{year}} and {{seq}}"
        ) from None

    log_format = env.get("LOG_FORMAT") or ("json" if production else "text")
    if log_format not in {"json", "text"}:
        raise ConfigError(f"LOG_FORMAT={log_format!r} must be json or text")
    log_level = (env.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")

    # the city's reward rules (orders/policy): tiers, income ratio, vendor rewards
    tiers = reward_tiers(env.get("REWARD_TIERS", "4000:1000,8000:2000,10000:3000"))
    income_ratio = _percent(
        "REWARD_INCOME_RATIO", env.get("REWARD_INCOME_RATIO", "0.5"), Decimal(1)
    )
    per_household = _yuan_fen(
        "VENDOR_REWARD_PER_HOUSEHOLD", env.get("VENDOR_REWARD_PER_HOUSEHOLD", "100")
    )
    floor = env.get("VENDOR_REWARD_FLOOR", "10")
    if not floor.isdigit():
        raise ConfigError(f"VENDOR_REWARD_FLOOR={floor!r} is not a whole number")
    subsidy_percent = _percent(
        "TRANSPORT_SUBSIDY_PERCENT", env.get("TRANSPORT_SUBSIDY_PERCENT", "2")
    )
    subsidy_cap = _yuan_fen("TRANSPORT_SUBSIDY_CAP", env.get("TRANSPORT_SUBSIDY_CAP", "50000"))

    redis_url = env.get("REDIS_URL")
    config = {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # a remember-me cookie (and every log-in row on the server) ends after this long
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("REMEMBER_DAYS", "14"))),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        # sale dates, "today" and every time shown are local to this zone (marketplace.clock)
        "TIMEZONE": timezone,
        "BABEL_DEFAULT_TIMEZONE": timezone,
        "LANGUAGES": {"zh_CN": "简体中文", "en": "English"},
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down: limits count in each process's memory until it is back (logged),
        # and a storage error never fails a request
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": bool(redis_url),
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        if redis_url
        else {},
        "RATELIMIT_HEADERS_ENABLED": True,
        # failed log-ins: per client address, and per e-mail from everywhere together (a
        # browser the owner logged in from before, by its known-device cookie, is exempt
        # from the per-e-mail ceiling, so an attack cannot lock the owner out)
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "LOGIN_EMAIL_RATE_LIMIT": env.get("LOGIN_EMAIL_RATE_LIMIT", "50 per hour"),
        "KNOWN_DEVICE_DAYS": int(env.get("KNOWN_DEVICE_DAYS", "365")),
        # registration form posts per client address, and mails per e-mail address
        "REGISTER_RATE_LIMIT": env.get("REGISTER_RATE_LIMIT", "10 per hour"),
        "REGISTER_EMAIL_RATE_LIMIT": env.get("REGISTER_EMAIL_RATE_LIMIT", "5 per hour"),
        "REGISTRATION_LINK_HOURS": int(env.get("REGISTRATION_LINK_HOURS", "24")),
        # forgotten passwords: the mailed link's life, form posts per client address and
        # mails per e-mail address
        "PASSWORD_RESET_MINUTES": int(env.get("PASSWORD_RESET_MINUTES", "30")),
        "PASSWORD_RESET_RATE_LIMIT": env.get("PASSWORD_RESET_RATE_LIMIT", "10 per hour"),
        "PASSWORD_RESET_EMAIL_RATE_LIMIT": env.get("PASSWORD_RESET_EMAIL_RATE_LIMIT", "5 per hour"),
        # phone verification: a texted code's life and wrong guesses, and codes sent per
        # account and per phone number
        "PHONE_CODE_MINUTES": int(env.get("PHONE_CODE_MINUTES", "10")),
        "PHONE_CODE_ATTEMPTS": int(env.get("PHONE_CODE_ATTEMPTS", "5")),
        "PHONE_CODE_RATE_LIMIT": env.get("PHONE_CODE_RATE_LIMIT", "5 per hour"),
        "REDIS_URL": redis_url,
        # shared by every node through Redis when REDIS_URL is set
        "CACHE_TYPE": "RedisCache" if redis_url else "SimpleCache",
        "CACHE_REDIS_URL": redis_url,
        # a cache that does not answer within half a second counts as down (pages are
        # then rendered without it: marketplace/fragments.py)
        "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        if redis_url
        else {},
        "CACHE_KEY_PREFIX": "marketplace:",
        "CACHE_DEFAULT_TIMEOUT": 60,
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY"),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY"),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE"),
        # unpaid online orders hold their stock this long; shipped orders not confirmed
        # by the buyer are completed after ORDER_AUTO_COMPLETE_DAYS (`flask orders expire`)
        "ORDER_RESERVATION_MINUTES": int(env.get("ORDER_RESERVATION_MINUTES", "30")),
        "ORDER_AUTO_COMPLETE_DAYS": int(env.get("ORDER_AUTO_COMPLETE_DAYS", "10")),
        # a paid part not shipped within this many hours shows as overdue to its vendor
        "ORDER_SHIP_WITHIN_HOURS": int(env.get("ORDER_SHIP_WITHIN_HOURS", "48")),
        # the certificate number suggested to reviewers ({year}, {seq}) and the validity
        "CERTIFICATE_NO_PATTERN": pattern,
        "CERTIFICATE_VALID_YEARS": int(env.get("CERTIFICATE_VALID_YEARS", "2")),
        # certification applications submitted, per user and per vendor organization
        "CERTIFY_RATE_LIMIT": env.get("CERTIFY_RATE_LIMIT", "20 per hour"),
        "CERTIFY_ORG_RATE_LIMIT": env.get("CERTIFY_ORG_RATE_LIMIT", "60 per hour"),
        # production without Stripe keys offers no online payment unless this is set
        "ALLOW_TEST_GATEWAY": _bool(env.get("ALLOW_TEST_GATEWAY")),
        "STRIPE_PAYMENT_METHODS": env.get("STRIPE_PAYMENT_METHODS", "card,alipay,wechat_pay"),
        # order e-mails; without MAIL_SERVER they are written to the log instead
        "MAIL_SERVER": env.get("MAIL_SERVER"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "消费帮扶商城 <noreply@localhost>"),
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads"),
        # the platform's fee on each vendor's monthly settlement, in percent (e.g. 0.6)
        "SETTLEMENT_FEE_RATE": fee_rate,
        # one JSON object per log line (with the request id) or a text line
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": log_level,
        # the city's rewards (orders/policy): income tiers ((threshold, reward) in fen),
        # the net-income ratio of the estimate, the vendors' reward and transport subsidy
        "REWARD_TIERS": tiers,
        "REWARD_INCOME_RATIO": income_ratio,
        "VENDOR_REWARD_PER_HOUSEHOLD": per_household,
        "VENDOR_REWARD_FLOOR": int(floor),
        "TRANSPORT_SUBSIDY_PERCENT": subsidy_percent,
        "TRANSPORT_SUBSIDY_CAP": subsidy_cap,
        "PAGE_SIZE": 20,
    }
    return config
