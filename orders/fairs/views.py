"""Fairs pages: the public fair pages, the organizer's, and the vendor's fairs (apply,
stall stock); the stall page is in ``stall_views``, the counters in ``counter_views``.

Views are thin: parse, call one service of ``orders.fairs.fairs``,
``orders.fairs.stalls`` or ``orders.fairs.counters``, and turn a domain error into a
flashed message (or a JSON error for the stall's scripts)."""

from __future__ import annotations

from flask import (
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from catalog.models import Product, ProductStatus
from marketplace.authz import org_required
from marketplace.clock import local_today
from marketplace.errors import IllegalTransition, NotFound, ValidationError
from marketplace.extensions import db
from marketplace.models import Organization
from marketplace.publication import Counts, publish
from orders import bp
from orders.fairs import fairs, stalls
from orders.fairs.forms import (
    ApplyForm,
    FairReasonForm,
    PlanFairForm,
    StallStockForm,
)
from orders.fairs.models import Fair, FairStall, FairStatus, StallSale, StallStatus
from orders.ledger.models import Attribution, Order
from vendors.stock import OutOfStock

FAIR_STATUS_LABELS = {
    FairStatus.PLANNED: (_l("计划中"), "info text-dark"),
    FairStatus.OPEN: (_l("开市中"), "success"),
    FairStatus.CLOSED: (_l("已闭市"), "secondary"),
    FairStatus.CANCELLED: (_l("已取消"), "danger"),
}
STALL_STATUS_LABELS = {
    StallStatus.APPLIED: (_l("待审核"), "warning text-dark"),
    StallStatus.ADMITTED: (_l("已入场"), "success"),
    StallStatus.REFUSED: (_l("未通过"), "secondary"),
}
PAYMENT_LABELS = {"cash": _l("现金"), "wechat": _l("微信"), "alipay": _l("支付宝")}


@bp.context_processor
def fair_labels() -> dict:
    return {
        "FAIR_STATUS": FAIR_STATUS_LABELS,
        "STALL_STATUS": STALL_STATUS_LABELS,
        "STALL_PAYMENTS": PAYMENT_LABELS,
    }


def _form_error(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")
            return


# ---------------------------------------------------------------- public pages


def households_driven(fair_ids) -> dict[int, int]:
    """Distinct households with positive net attribution from each fair's sales."""
    if not fair_ids:
        return {}
    per_household = (
        select(Order.fair_id.label("fair_id"), Attribution.household_id)
        .join(Order, Order.id == Attribution.order_id)
        .where(Order.fair_id.in_(list(fair_ids)), Attribution.household_id.is_not(None))
        .group_by(Order.fair_id, Attribution.household_id)
        .having(func.sum(Attribution.amount) > 0)
        .subquery()
    )
    return dict(
        db.session.execute(
            select(per_household.c.fair_id, func.count()).group_by(per_household.c.fair_id)
        ).all()
    )


def _fair_amounts(fair_ids) -> dict[int, int]:
    if not fair_ids:
        return {}
    return dict(
        db.session.execute(
            select(Order.fair_id, func.sum(Order.total - Order.refunded))
            .where(Order.fair_id.in_(list(fair_ids)), Order.status.in_(["paid", "completed"]))
            .group_by(Order.fair_id)
        ).all()
    )


def _public_vendors(fair: Fair) -> list[tuple[FairStall, list[Product]]]:
    stalls = [s for s in fair.stalls if s.status == StallStatus.ADMITTED]
    vendor_ids = [s.vendor_id for s in stalls]
    products: dict[int, list[Product]] = {}
    if vendor_ids:
        for product in db.session.scalars(
            select(Product)
            .where(Product.vendor_id.in_(vendor_ids), Product.status == ProductStatus.ACTIVE)
            .order_by(Product.name)
        ):
            products.setdefault(product.vendor_id, []).append(product)
    return [(s, products.get(s.vendor_id, [])[:12]) for s in stalls]


@bp.route("/fairs")
def fairs_public():
    today = local_today()
    upcoming = list(
        db.session.scalars(
            select(Fair)
            .where(Fair.status.in_([FairStatus.PLANNED, FairStatus.OPEN]), Fair.date >= today)
            .order_by(Fair.date, Fair.id)
            .limit(30)
        )
    )
    past = list(
        db.session.scalars(
            select(Fair)
            .where(Fair.status == FairStatus.CLOSED)
            .order_by(Fair.date.desc(), Fair.id.desc())
            .limit(30)
        )
    )
    ids = [f.id for f in past]
    amounts, driven = _fair_amounts(ids), households_driven(ids)
    shown = {f.id: publish(Counts(driven.get(f.id, 0), int(amounts.get(f.id) or 0))) for f in past}
    return render_template(
        "orders/fairs/public_list.html",
        upcoming=[(f, _public_vendors(f)) for f in upcoming],
        past=past,
        amounts=amounts,
        shown=shown,
    )


@bp.route("/fairs/<int:fair_id>")
def fair_public(fair_id: int):
    fair = db.session.get(Fair, fair_id)
    if fair is None or fair.status == FairStatus.CANCELLED:
        raise NotFound()
    amount = int(_fair_amounts([fair.id]).get(fair.id) or 0)
    shown = publish(Counts(households_driven([fair.id]).get(fair.id, 0), amount))
    return render_template(
        "orders/fairs/public_fair.html", fair=fair, vendors=_public_vendors(fair), shown=shown
    )


# ---------------------------------------------------------------- the organizer


def _scoped_fairs(org: Organization):
    stmt = select(Fair)
    if not fairs.organizes_all(org):
        stmt = stmt.where(Fair.organizer_id == org.id)
    return stmt


@bp.route("/organizer/fairs", methods=["GET", "POST"])
@org_required("fairs.organize")
def organizer_fairs():
    form = PlanFairForm()
    if form.validate_on_submit():
        plan = fairs.FairPlan(
            form.name.data,
            form.date.data,
            form.venue.data,
            form.district.data,
            form.community.data,
            form.starts_at.data,
            form.ends_at.data,
            form.expected_stalls.data,
        )
        try:
            fair = fairs.plan_fair(current_user, g.org, plan)
        except ValidationError as exc:
            flash(exc.message, "danger")
        else:
            flash(_("集市已创建：%(name)s", name=fair.name), "success")
            return redirect(url_for("orders.organizer_fair", fair_id=fair.id))
    elif request.method == "POST":
        _form_error(form)
    listed = list(
        db.session.scalars(
            _scoped_fairs(g.org).order_by(Fair.date.desc(), Fair.id.desc()).limit(100)
        )
    )
    return render_template("orders/fairs/organizer_list.html", fairs=listed, form=form)


@bp.route("/organizer/fairs/<int:fair_id>")
@org_required("fairs.organize")
def organizer_fair(fair_id: int):
    fair = fairs.organizer_fair(g.org, fair_id)
    return render_template(
        "orders/fairs/organizer_fair.html",
        fair=fair,
        totals=stalls.fair_totals(fair.id),
        late=db.session.scalar(
            select(func.count(StallSale.id)).where(StallSale.fair_id == fair.id, StallSale.late)
        ),
        reason_form=FairReasonForm(),
    )


@bp.route("/organizer/fairs/<int:fair_id>/<any(open, close, cancel):action>", methods=["POST"])
@org_required("fairs.organize")
def organizer_fair_action(fair_id: int, action: str):
    form = FairReasonForm()
    try:
        if action == "open":
            fairs.open_fair(current_user, g.org, fair_id)
            flash(_("集市已开市"), "success")
        elif action == "close":
            moved = fairs.close_fair(current_user, g.org, fair_id)
            flash(_("集市已闭市，%(n)d 项未售出库存已退回仓库", n=moved), "success")
        else:
            fairs.cancel_fair(current_user, g.org, fair_id, form.reason.data or "")
            flash(_("集市已取消"), "success")
    except (IllegalTransition, ValidationError) as exc:
        flash(exc.message, "danger")
    return redirect(url_for("orders.organizer_fair", fair_id=fair_id))


@bp.route("/organizer/stalls/<int:stall_id>/<any(admit, refuse):action>", methods=["POST"])
@org_required("fairs.organize")
def organizer_stall_decide(stall_id: int, action: str):
    form = FairReasonForm()
    stall = db.session.get(FairStall, stall_id)
    if stall is None:
        raise NotFound()
    fair_id = stall.fair_id
    try:
        if action == "admit":
            fairs.admit_stall(current_user, g.org, stall_id)
            flash(_("已同意入场"), "success")
        else:
            fairs.refuse_stall(current_user, g.org, stall_id, form.reason.data or "")
            flash(_("已拒绝该申请"), "success")
    except (IllegalTransition, ValidationError) as exc:
        flash(exc.message, "danger")
    return redirect(url_for("orders.organizer_fair", fair_id=fair_id))


# ---------------------------------------------------------------- the vendor


@bp.route("/vendor/fairs")
@org_required("fairs.sell")
def vendor_fairs():
    mine = {
        s.fair_id: s
        for s in db.session.scalars(select(FairStall).where(FairStall.vendor_id == g.org.id))
    }
    open_for_applications = list(
        db.session.scalars(
            select(Fair)
            .where(
                Fair.status.in_([FairStatus.PLANNED, FairStatus.OPEN]),
                Fair.date >= local_today(),
            )
            .order_by(Fair.date, Fair.id)
            .limit(50)
        )
    )
    past_mine = [s for s in mine.values() if s.fair not in open_for_applications]
    past_mine.sort(key=lambda s: s.fair.date, reverse=True)
    return render_template(
        "orders/fairs/vendor_list.html",
        fairs=open_for_applications,
        mine=mine,
        past=past_mine[:50],
        form=ApplyForm(),
    )


@bp.route("/vendor/fairs/<int:fair_id>/apply", methods=["POST"])
@org_required("fairs.sell")
def vendor_fair_apply(fair_id: int):
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            fairs.apply_for_stall(current_user, g.org, fair_id, form.name.data, form.note.data)
            flash(_("已提交摊位申请"), "success")
        except (IllegalTransition, ValidationError) as exc:
            flash(exc.message, "danger")
    else:
        _form_error(form)
    return redirect(url_for("orders.vendor_fairs"))


@bp.route("/vendor/fairs/<int:fair_id>/stock", methods=["GET", "POST"])
@org_required("fairs.sell")
def vendor_stall_stock(fair_id: int):
    stall = fairs.vendor_stall(g.org, fair_id)
    form = StallStockForm()
    products = stalls.stall_products(stall)
    form.product_id.choices = [SelectChoice(p.product.id, p.product.name) for p in products]
    if form.validate_on_submit():
        args = (current_user, g.org, fair_id, form.product_id.data, form.quantity.data)
        try:
            if form.action.data == "to":
                stalls.move_to_stall(*args)
            elif form.action.data == "from":
                stalls.move_from_stall(*args)
            else:
                stalls.write_off_at_stall(*args, form.action.data, form.note.data or "")
            flash(_("库存已更新"), "success")
            return redirect(url_for("orders.vendor_stall_stock", fair_id=fair_id))
        except (IllegalTransition, ValidationError, OutOfStock) as exc:
            flash(exc.message, "danger")
    elif request.method == "POST":
        _form_error(form)
    return render_template(
        "orders/fairs/vendor_stock.html", stall=stall, products=products, form=form
    )
