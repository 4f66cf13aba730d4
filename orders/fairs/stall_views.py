"""The vendor's stall page at a fair: a phone page that also works offline, its data and
its sales posted as JSON (a JSON error for the stall's scripts), and its service worker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from marketplace.authz import org_required
from marketplace.clock import to_local
from marketplace.errors import DomainError, IllegalTransition, ValidationError
from marketplace.money import format_fen
from marketplace.web import to_id
from orders import bp
from orders.fairs import fairs, stalls
from orders.fairs.models import StallSale
from vendors.stock import OutOfStock


@bp.route("/vendor/fairs/<int:fair_id>/stall")
@org_required("fairs.sell")
def stall_page(fair_id: int):
    stall = fairs.vendor_stall(g.org, fair_id)
    return render_template("orders/fairs/stall.html", stall=stall, fair=stall.fair)


def _sale_json(sale: StallSale) -> dict:
    order = sale.order
    return {
        "id": sale.id,
        "token": sale.token,
        "number": order.number if order else "",
        "total": format_fen(order.total) if order else "0.00",
        "payment_method": order.payment_method if order else "",
        "made_at": to_local(sale.made_at).strftime("%H:%M:%S"),
        "late": sale.late,
        "voided": sale.voided_at is not None,
        "lines": [
            {"name": line.product_name, "quantity": line.quantity, "unit": line.unit}
            for line in (order.lines if order else [])
        ],
    }


@bp.route("/vendor/fairs/<int:fair_id>/stall/data.json")
@org_required("fairs.sell")
def stall_data(fair_id: int):
    stall = fairs.vendor_stall(g.org, fair_id)
    totals = stalls.fair_totals(fair_id, stall)
    return jsonify(
        {
            "csrf_token": generate_csrf(),
            "fair": {
                "id": stall.fair.id,
                "name": stall.fair.name,
                "status": stall.fair.status,
                "stall_status": stall.status,
            },
            "products": [
                {
                    "id": p.product.id,
                    "name": p.product.name,
                    "unit": p.product.unit,
                    "price": format_fen(p.product.price),
                    "min_price": format_fen(-(-p.product.price * stalls.MIN_PRICE_PERCENT // 100)),
                    "available": p.available,
                }
                for p in stalls.stall_products(stall)
                if p.sellable and p.available > 0
            ],
            "sales": [_sale_json(s) for s in stalls.recent_sales(stall)],
            "totals": {
                "orders": totals.orders,
                "amount": format_fen(totals.amount),
                "by_payment": {m: format_fen(fen) for m, _n, fen in totals.by_payment},
            },
        }
    )


def _json_error(message: str, status: int):
    return jsonify({"error": message, "status": status}), status


def _made_at(value) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


def _fen(value) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**12:
        return value
    raise ValidationError(_("单价无效"))


@bp.route("/vendor/fairs/<int:fair_id>/stall/sales", methods=["POST"])
@org_required("fairs.sell")
def stall_sale(fair_id: int):
    """A sale as JSON: ``{"token", "payment_method", "made_at" (ISO, with zone),
    "lines": [{"product_id", "quantity", "unit_price" (fen, optional)}]}``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        return _json_error(_("请求有误，请检查后重试。"), 400)
    try:
        lines = []
        for line in data["lines"][: stalls.MAX_SALE_LINES + 1]:
            if not isinstance(line, dict):
                raise ValidationError(_("请求有误，请检查后重试。"))
            quantity = line.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                raise ValidationError(_("数量必须大于零"))
            lines.append(
                stalls.SaleLine(
                    to_id(line.get("product_id")) or 0, quantity, _fen(line.get("unit_price"))
                )
            )
        token = data.get("token")
        recorded = stalls.record_stall_sale(
            current_user,
            g.org,
            fair_id,
            token,
            lines,
            data.get("payment_method"),
            made_at=_made_at(data.get("made_at")),
        )
    except (IllegalTransition, OutOfStock) as exc:
        return _json_error(exc.message, 409)
    except DomainError as exc:
        return _json_error(exc.message, 422)
    return jsonify({"sale": _sale_json(recorded.sale), "duplicate": recorded.repeat}), (
        200 if recorded.repeat else 201
    )


@bp.route("/vendor/fairs/<int:fair_id>/stall/sales/<bigint:sale_id>/void", methods=["POST"])
@org_required("fairs.sell")
def stall_void(fair_id: int, sale_id: int):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        data = {}
    reason = data.get("reason") if isinstance(data.get("reason"), str) else ""
    try:
        sale = stalls.void_stall_sale(current_user, g.org, sale_id, reason[:500])
    except (IllegalTransition, ValidationError) as exc:
        return _json_error(exc.message, 409 if isinstance(exc, IllegalTransition) else 422)
    return jsonify({"sale": _sale_json(sale)})


@bp.route("/vendor/fairs/sw.js")
def stall_service_worker():
    """The stall's service worker, served under /vendor/fairs/ so its scope covers the
    stall pages."""
    script = Path(current_app.static_folder, "js", "stall-sw.js").read_bytes()
    return Response(
        script,
        content_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )
