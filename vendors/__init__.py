from flask import Blueprint

bp = Blueprint("vendors", __name__)


from . import label_views, models, views  # noqa: E402, F401
