from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from .. import registries
from ..accounts.services import set_locale
from ..chrome import visitor_page
from ..clock import local_today
from ..extensions import csrf, db, limiter
from ..fragments import fragment
from ..i18n import LOCALE_COOKIE, select_locale
from ..web import posted_from_this_site, safe_next
from . import bp


@bp.route("/")
def home():
    """The home page; domain packages add sections (featured products, the impact
    counter) through the ``home_sections`` registry. The page's body is the same for
    every visitor (and for every signed-in person): it is cached per language and day,
    and dropped as soon as any section's cache area is bumped (a sale, a product); for a
    visitor without a session the whole page is kept."""
    sections = registries.home_sections.get()
    areas = tuple(dict.fromkeys(area for section in sections for area in section.areas))
    areas = areas or ("home",)
    today = f"{select_locale()}:{local_today().isoformat()}"

    def page() -> str:
        signed_in = current_user.is_authenticated
        body = fragment(
            areas,
            f"home:{today}:{int(signed_in)}",
            lambda: render_template(
                "main/_home_body.html", sections=[section.render() for section in sections]
            ),
        )
        return render_template("main/home.html", body=body)

    # a visitor without a session gets the whole page kept (marketplace.chrome)
    return visitor_page(areas, f"home:{today}", page, url_for("main.home"))


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
@csrf.exempt  # checked here: a token, or a visitor's browser saying it posts from our page
def set_language(code: str):
    """Switch the interface language; remembered on the account and in a cookie. A POST
    of the language menu's small forms: a GET, a prefetched link or a crawler changes
    nobody's language, and another site cannot switch it either.

    A signed-in person's menu carries the CSRF token, like every form. A visitor's menu
    carries none, so that a visitor's pages need no session (no cookie to sign and set on
    every first page: a fifth of a public page's cost, bench/middleware.py); the browser's
    own same-origin proof (``web.posted_from_this_site``) stands in for it."""
    if current_app.config["WTF_CSRF_ENABLED"] and not posted_from_this_site():
        csrf.protect()  # the token, or 400 (CSRFError) like any form without one
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
