from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from .. import registries
from ..accounts.services import set_locale
from ..extensions import csrf, db, limiter
from ..i18n import LOCALE_COOKIE
from ..web import safe_next
from . import bp


@bp.route("/")
def home():
    """The home page; domain packages add sections (featured products, the impact
    counter) through the ``home_sections`` registry, callables returning HTML."""
    sections = [section() for section in registries.home_sections.get()]
    return render_template("main/home.html", sections=sections)


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    """200 after a database round trip; 503 when the database does not answer."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    """Switch the interface language; remembered on the account and in a cookie. A POST
    with the CSRF token (the language menu's small forms): a GET, a prefetched link or a
    crawler changes nobody's language."""
    languages = current_app.config["LANGUAGES"]
    target = safe_next(request.form.get("next") or request.args.get("next"), url_for("main.home"))
    response = make_response(redirect(target))
    if code in languages:
        if current_user.is_authenticated:
            set_locale(current_user, code)
        response.set_cookie(
            LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response
