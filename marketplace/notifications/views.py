"""The inbox pages: the list, opening a notice (marks it read, follows its link), and
marking every notice read."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..pagination import paginate
from ..web import page_arg, page_size, safe_next
from . import bp, services


@bp.route("/inbox")
@login_required
def inbox():
    page = paginate(services.inbox(current_user), page_arg(), page_size())
    return render_template("notifications/inbox.html", page=page)


@bp.route("/inbox/<int:notice_id>", methods=["POST"])
@login_required
def open_notice(notice_id: int):
    notice = services.open_notice(current_user, notice_id)
    if notice is None:
        abort(404)
    return redirect(safe_next(notice.link, url_for("notifications.inbox")))


@bp.route("/inbox/read-all", methods=["POST"])
@login_required
def read_all():
    services.mark_all_read(current_user)
    return redirect(url_for("notifications.inbox"))
