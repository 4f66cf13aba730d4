"""Kernel registries: the named points where the kernel and the lower packages call code
of the packages above them without importing them (imports go one way: catalog imports
the kernel, vendors imports catalog, orders imports all three).

The app factory (``marketplace/__init__.py``, ``register_registries``) is the only place
that fills them; code that calls one asks the registry (``registries.stock.get()``),
never ``app.extensions`` by key. Each is kept in ``app.extensions`` under its name.

- ``importers``: ``{name: Importer class}``, every CSV import in the order the upload
  page lists them (households, vendors, products, benefit-links, fairs, sales). Filled
  with the kernel's, catalog's and orders' importers; read by ``flask import <name>`` and
  the bureau's upload page.
- ``demo_steps``: ``[callable() -> bool]``, run in order by ``flask demo load``. Filled
  with the kernel's steps, then catalog's, vendors' (stock), orders' ledger, shop,
  procurement, fairs and rewards (policy) demo.
- ``home_sections``: ``[HomeSection]``, the home page's sections in order: each a
  ``render() -> HTML`` and the cache areas (``marketplace.fragments``) whose changes
  change it, so the home page's body is cached whole and dropped when any of them is
  bumped. Filled with orders.reports' impact counter (sales) and catalog's featured
  products (catalog).
- ``order_notifier``: ``callable(kind, order)``, told after an order is paid, shipped or
  refunded. Filled with orders.shop.notify's ``OrderNotifier`` (mail, or the log); called
  by the shop's services.
- ``stock``: a ``StockPort``, the stock the products import (catalog) reads and sets.
  Filled with vendors.services' ``WarehouseStock``; called by catalog's products import.
- ``vendor_today``: ``[callable(user, org) -> HTML]``, the panels of a vendor's
  dashboard (what to do today), in order, each shown only when its permission holds.
  Filled with orders.shop's shipments to send, vendors' low stock, orders.reports' month
  and orders.settlement's latest statement; called by catalog's vendor dashboard.
- ``personal_data``: ``[PersonalData]``, what each package above the kernel keeps about
  a person, for the account's "download my data" and "delete my account" (PIPL).
  Filled with orders.shop's (orders with lines, parts, after-sales, cart); called by
  ``marketplace.accounts.privacy``.
- ``stock_returned``: ``callable(product_ids)``, told (after the commit) which sold-out
  products have units available at their warehouse again. Filled with catalog.restock's
  ``stock_returned`` (the 到货提醒 subscribers); called by vendors' stock engine, so
  the stock engine tells buyers without knowing who listens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from flask import Flask, current_app

from .importing import Importer

T = TypeVar("T")


class Registry(Generic[T]):
    """One named hook point; ``default`` makes the value when the factory left it empty."""

    def __init__(self, name: str, default: Callable[[], T]):
        self.name = name
        self.default = default

    def fill(self, app: Flask, value: T) -> None:
        app.extensions[self.name] = value

    def get(self, app: Flask | None = None) -> T:
        extensions = (app or current_app).extensions
        return extensions[self.name] if self.name in extensions else self.default()

    def __repr__(self) -> str:
        return f"Registry({self.name!r})"


class StockPort(Protocol):
    """On-hand at each product's own warehouse, as the products import sees it."""

    def reserved(self, product_ids: Sequence[int]) -> dict[int, int]:
        """Units reserved per product (a new on-hand may not go below them)."""
        ...

    def set_on_hand_many(self, targets: dict[int, int], actor: Any, import_name: str) -> None:
        """Set on-hand (``{product id: units}``) through recorded count corrections, in
        the caller's transaction, set-based."""
        ...


class PersonalData(Protocol):
    """A package's share of a person's data (the kernel keeps the profile, addresses,
    consents, log-ins and inbox itself)."""

    def export(self, user: Any) -> dict[str, Any]:
        """The person's data as JSON-ready values, under this package's own keys."""
        ...

    def open_obligations(self, user: Any) -> list[str]:
        """What must finish before the account may be deleted (shown to the person)."""
        ...

    def erase(self, user: Any) -> tuple[dict[str, int], Callable[[], None] | None]:
        """In the caller's transaction: remove or blank the person's data, keeping the
        records the ledger needs. Returns counts for the audit entry, and what to do once
        the transaction has committed (remove stored files), if anything."""
        ...


class HomeSection(NamedTuple):
    """A section of the home page: its HTML, and the cache areas whose bumps change it."""

    render: Callable[[], str]
    areas: tuple[str, ...]


OrderNotifier = Callable[[str, Any], None]  # (kind: "paid" | "shipped" | "refunded", order)

importers: Registry[dict[str, type[Importer]]] = Registry("importers", dict)
demo_steps: Registry[list[Callable[[], bool]]] = Registry("demo_steps", list)
home_sections: Registry[list[HomeSection]] = Registry("home_sections", list)
order_notifier: Registry[OrderNotifier | None] = Registry("order_notifier", lambda: None)
stock: Registry[StockPort | None] = Registry("stock", lambda: None)
vendor_today: Registry[list[Callable[[Any, Any], str]]] = Registry("vendor_today", list)
personal_data: Registry[list[PersonalData]] = Registry("personal_data", list)
stock_returned: Registry[Callable[[Sequence[int]], None] | None] = Registry(
    "stock_returned", lambda: None
)

ALL = (
    importers,
    demo_steps,
    home_sections,
    order_notifier,
    stock,
    vendor_today,
    personal_data,
    stock_returned,
)
