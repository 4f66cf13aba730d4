"""Everything about sales, one room per channel; every channel ends in the ledger.

- ``orders.ledger``: orders, lines, refunds, attribution, the paid-sale core, sales imports
- ``orders.shop``: the citizens' online shop (cart, checkout, payments, fulfilment, pick-up)
- ``orders.procurement``: agencies' bulk procurement
- ``orders.fairs``: market fairs and supermarket counters
- ``orders.reports``: summary, breakdowns, exports, the public impact page
- ``orders.policy``: the city's rewards and subsidies paid on results

One blueprint for the package; each room registers its views on it.
"""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from orders import models  # noqa: E402, F401
from orders.fairs import counter_views, stall_views  # noqa: E402, F401
from orders.fairs import views as fair_views  # noqa: E402, F401
from orders.policy import views as policy_views  # noqa: E402, F401
from orders.procurement import views as procurement_views  # noqa: E402, F401
from orders.reports import views as report_views  # noqa: E402, F401
from orders.reports import watch_views  # noqa: E402, F401
from orders.settlement import views as settlement_views  # noqa: E402, F401
from orders.shop import (  # noqa: E402, F401
    aftersales_views,
    checkout_views,
    fulfilment_views,
    invoice_views,
    order_views,
    shipping_views,
    station_views,
    views,
    webhooks,
)
