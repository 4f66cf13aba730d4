from flask import Blueprint

bp = Blueprint("orders", __name__)

from . import fulfilment_views, models, report_views, shop_views, views, webhooks  # noqa: E402, F401
