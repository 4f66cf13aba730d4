from flask import Blueprint

bp = Blueprint("catalog", __name__)

from . import bureau_views, models, vendor_views, views  # noqa: E402, F401
