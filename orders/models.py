"""The orders package's tables: this module imports every room's models, so that
``orders.models`` (imported by the package, hence by the app factory and by Alembic's
``env.py`` through the app) puts every orders-side table in the metadata. The ledger's
tables are in ``orders/ledger/models.py``, the shop's in ``orders/shop/models.py``, the
fairs' and counters' in ``orders/fairs/models.py``, procurement's in
``orders/procurement/models.py``.

Import each class from its room's module, not from here."""

from orders.fairs import models as fairs_models  # noqa: F401
from orders.ledger import models as ledger_models  # noqa: F401
from orders.policy import models as policy_models  # noqa: F401
from orders.procurement import models as procurement_models  # noqa: F401
from orders.settlement import models as settlement_models  # noqa: F401
from orders.shop import models as shop_models  # noqa: F401
