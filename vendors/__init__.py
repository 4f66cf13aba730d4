from flask import Blueprint

bp = Blueprint("vendors", __name__)


@bp.record_once
def _register_stock_hooks(state) -> None:
    """Catalog may not import vendors; its products import sets stock through these."""
    from .services import import_on_hand, import_reserved

    state.app.extensions["stock.set_on_hand"] = import_on_hand
    state.app.extensions["stock.reserved"] = import_reserved


from . import models, views  # noqa: E402, F401
