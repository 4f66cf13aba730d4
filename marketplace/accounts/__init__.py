from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import phone_views, privacy_views, recovery_views, views  # noqa: E402, F401
