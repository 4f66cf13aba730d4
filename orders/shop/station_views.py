"""The pick-up point's pages (staff assigned by the bureau): parts on their way, arrival
(到站待取), hand-over against the buyer's code (已取件); and the bureau's list of who
works at a point. Views are thin: one service call each (``station``)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.authz import org_required
from marketplace.errors import DomainError, ValidationError
from marketplace.pagination import paginate
from marketplace.web import page_arg, page_size
from orders import bp
from orders.shop import pickup, station
from orders.shop.fulfilment_forms import CollectForm, StaffForm
from orders.shop.models import ShipmentStatus

PICKUP = "pickup_points.manage"


@bp.route("/station")
@login_required
def station_home():
    points = station.staffed_points(current_user)
    if len(points) == 1:
        return redirect(url_for("orders.station_point", point_id=points[0].id))
    return render_template("orders/station/home.html", points=points)


def _station_page(point_id: int, form: CollectForm | None = None, code: int = 200):
    point = station.station_point(current_user, point_id)
    coming = paginate(station.station_parts(current_user, point.id), page_arg(), page_size())
    waiting = paginate(
        station.station_parts(current_user, point.id, ShipmentStatus.AT_STATION), 1, 100
    )
    return render_template(
        "orders/station/point.html",
        point=point,
        coming=coming,
        waiting=waiting,
        form=form or CollectForm(),
        arrive_form=FlaskForm(),
    ), code


@bp.route("/station/<int:point_id>")
@login_required
def station_point(point_id: int):
    return _station_page(point_id)


@bp.route("/station/<int:point_id>/arrive/<bigint:shipment_id>", methods=["POST"])
@login_required
def station_arrive(point_id: int, shipment_id: int):
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)
    try:
        station.record_arrival(current_user, point_id, shipment_id)
    except DomainError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已登记到站，买家会收到取件通知。"), "success")
    return redirect(url_for("orders.station_point", point_id=point_id))


@bp.route("/station/<int:point_id>/collect", methods=["POST"])
@login_required
def station_collect(point_id: int):
    form = CollectForm()
    if not form.validate_on_submit():
        return _station_page(point_id, form, 400)
    try:
        order = station.collect(current_user, point_id, form.code.data)
    except ValidationError as exc:
        form.code.errors = [*form.code.errors, exc.message]
        return _station_page(point_id, form, 400)
    except DomainError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已取件：订单 %(n)s", n=order.number), "success")
    return redirect(url_for("orders.station_point", point_id=point_id))


# ---------------------------------------------------------------- the bureau: who works where


def _staff_page(point_id: int, form: StaffForm | None = None, code: int = 200):
    point = pickup.pickup_point(current_user, g.org, point_id)
    return render_template(
        "orders/bureau/pickup_point_staff.html",
        point=point,
        staff=station.point_staff(point.id),
        form=form or StaffForm(),
        remove_form=FlaskForm(),
    ), code


@bp.route("/bureau/pickup-points/<int:point_id>/staff")
@org_required(PICKUP)
def pickup_point_staff(point_id: int):
    return _staff_page(point_id)


@bp.route("/bureau/pickup-points/<int:point_id>/staff", methods=["POST"])
@org_required(PICKUP)
def pickup_point_staff_add(point_id: int):
    form = StaffForm()
    if not form.validate_on_submit():
        return _staff_page(point_id, form, 400)
    try:
        station.assign_staff(current_user, g.org, point_id, form.email.data)
    except ValidationError as exc:
        form.email.errors = [*form.email.errors, exc.message]
        return _staff_page(point_id, form, 400)
    flash(_("已添加服务站工作人员。"), "success")
    return redirect(url_for("orders.pickup_point_staff", point_id=point_id))


@bp.route("/bureau/pickup-points/<int:point_id>/staff/<int:staff_id>/remove", methods=["POST"])
@org_required(PICKUP)
def pickup_point_staff_remove(point_id: int, staff_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    station.remove_staff(current_user, g.org, point_id, staff_id)
    flash(_("已移除服务站工作人员。"), "info")
    return redirect(url_for("orders.pickup_point_staff", point_id=point_id))
