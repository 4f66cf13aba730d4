"""Products and the ground every sale stands on, one module per concern:

- ``sellability``: the one rule every channel asks, is this product sellable on a day
- ``products``: a vendor's products, categories, origin villages
- ``certification``: applications, the bureau's decisions, expiries, public notices
- ``links``: benefit links (which households a product's sales are attributed to)
- ``public``: the public catalog, product and seller pages
- ``images``: product photos; ``dashboard``: what the vendor's product pages count
- ``imports`` (products and benefit-link CSVs), ``files``, ``demo``, ``cli``, and the views."""

from flask import Blueprint

bp = Blueprint("catalog", __name__)

from . import bureau_views, models, vendor_views, views  # noqa: E402, F401
