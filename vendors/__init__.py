from flask import Blueprint

bp = Blueprint("vendors", __name__)


@bp.record_once
def _register_stock_hooks(state) -> None:
    """Catalog may not import vendors; its products import sets stock through these."""
    from .services import WarehouseStock

    port = WarehouseStock()
    state.app.extensions["stock.set_on_hand"] = port.set_on_hand
    state.app.extensions["stock.reserved"] = port.reserved


from . import models, views  # noqa: E402, F401
