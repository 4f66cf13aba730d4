"""The errors services raise, and the error pages the app shows for them.

Two families, never mixed:

- ``DomainError``: something the person can correct or must be told (a form field, a
  state that no longer allows the step, stock that ran out). Views catch these and show
  the message on the form or in a flash.
- ``AccessError``: the object is not there for this user (``NotFound``, 404) or the user
  may not act (``Forbidden``, 403). Views never catch these: the handlers below answer
  them once, for every view, whichever service raised them.
"""

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

# said without asking the database for the user's language
UNAVAILABLE = "服务暂时不可用，请稍后再试。(The service is briefly unavailable; please retry.)"


class DomainError(Exception):
    """Base of the errors a person can act on; the message is meant for the user."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Input breaks a rule; ``errors`` maps field names to messages."""

    def __init__(self, message: str = "", errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


class IllegalTransition(DomainError):
    """The object is not in a state that allows this step."""


class AccessError(Exception):
    """Base of the errors that refuse access; the app turns them into ``code`` pages."""

    code = 403

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class NotFound(AccessError):
    """The object does not exist, or not in the acting user's scope (never says which)."""

    code = 404


class Forbidden(AccessError):
    """The acting user may not do this."""

    code = 403


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (a restart, a
    failover), as opposed to a query it refused."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.is_json  # a script posting JSON reads the answer as JSON
        or request.accept_mimetypes.best == "application/json"
    )


def register_errorhandlers(app: Flask) -> None:
    messages = {
        400: lambda: _("请求有误，请检查后重试。"),
        403: lambda: _("您没有权限访问此页面。"),
        404: lambda: _("页面不存在，或已被移除。"),
        405: lambda: _("不支持此请求方式。"),
        413: lambda: _("上传的文件太大。"),
        429: lambda: _("操作过于频繁，请稍后再试。"),
        500: lambda: _("服务器出错了，我们会尽快处理。"),
        503: lambda: _("服务暂时不可用，请稍后再试。"),
    }

    def render(code: int, message: str | None = None):
        text = message or messages.get(code, messages[500])()
        if _wants_json():
            return jsonify({"error": text, "status": code}), code
        return render_template("errors/error.html", code=code, message=text), code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, CSRFError):
            return render(400, _("表单已过期或无效，请刷新页面后重新提交。"))
        return render(exc.code or 500)

    @app.errorhandler(AccessError)
    def access_refused(exc: AccessError):
        # a NotFound says nothing of what it looked for (another org's object, or none)
        return render(exc.code, None if isinstance(exc, NotFound) else exc.message or None)

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        if not database_unavailable(exc):
            return unexpected(exc)
        # the database is restarting or unreachable: a clean 503 the browser or load
        # balancer may retry; the pool reconnects by itself once it is back
        app.logger.warning(
            "database unavailable on %s %s: %s", request.method, request.path, exc.orig or exc
        )
        headers = {"Retry-After": "5"}
        if _wants_json():
            return jsonify({"error": UNAVAILABLE, "status": 503}), 503, headers
        return render_template("errors/unavailable.html"), 503, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render(500)
