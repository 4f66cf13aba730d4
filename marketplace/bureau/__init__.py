from flask import Blueprint

bp = Blueprint("bureau", __name__, url_prefix="/bureau")

from . import views  # noqa: E402, F401
