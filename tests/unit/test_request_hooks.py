"""What runs around every request (docs/architecture.md, "What every public page costs"):
Flask-Limiter's per-request hook is taken out because every limit is a route decorator's,
which checks itself (tests/unit/test_accounts.py: the log-in limits still answer 429);
the app still builds with the limiter switched off."""

from marketplace import create_app
from marketplace.extensions import limiter

from ..conftest import make_test_config


def test_the_limiters_hook_does_not_run_on_every_request(app):
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])


def test_the_app_builds_with_the_limiter_off(database_url, tmp_path):
    config = make_test_config(database_url, tmp_path)
    config["RATELIMIT_ENABLED"] = False
    try:
        app = create_app(config)
        assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    finally:
        limiter.enabled = True  # the one Limiter serves every app of the session
