"""The poverty-relief marketplace: app factory.

The factory is the one place that knows every package: it binds the extensions,
registers each blueprint, error page and command group, and fills the kernel's
registries (``marketplace/registries.py``) with the packages' implementations.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .extensions import babel, cache, csrf, db, limiter, login_manager, migrate, talisman
from .logs import configure_logging

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
TEMPLATES_DIR = str(Path(__file__).resolve().parent.parent / "templates")
STATIC_DIR = str(Path(__file__).resolve().parent.parent / "static")
TRANSLATIONS_DIR = str(Path(__file__).resolve().parent.parent / "translations")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=TEMPLATES_DIR,
        static_folder=STATIC_DIR,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    configure_logging(app)
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_registries(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    if app.config.get("TRUST_PROXY", app.config["APP_ENV"] == "production"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    return app


CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    # Stripe.js is the one script that must come from Stripe's own host.
    "script-src": ["'self'", "https://js.stripe.com"],
    "frame-src": ["'self'", "https://js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["'self'", "https://api.stripe.com"],
    "style-src": ["'self'"],
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def register_url_converters(app: Flask) -> None:
    """Before any route: ``<int:...>`` only matches ids an INTEGER key can hold, and
    ``<bigint:...>`` those of a BIGINT key, so an id beyond them is a 404, not a database
    error."""
    from .web import BigIdConverter, IdConverter

    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigint"] = BigIdConverter


def register_extensions(app: Flask) -> None:
    from .accounts.services import session_user
    from .i18n import select_babel_locale
    from .models import User

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_babel_locale,
        # the one configured zone: Babel's datetimeformat shows stored UTC in it
        timezone_selector=lambda: app.config["TIMEZONE"],
        default_translation_directories=TRANSLATIONS_DIR,
    )
    limiter.init_app(app)
    # Every limit here is a route decorator's, which checks itself when its route runs.
    # The hook Flask-Limiter adds before every request serves only default, application
    # and blueprint limits, which this app does not set: it costs every request (even a
    # static file) for nothing, so it is taken out (bench/middleware.py).
    hooks = app.before_request_funcs.get(None, [])
    limits_everywhere = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION")
    if limiter._check_request_limit in hooks and not any(
        app.config.get(k) for k in limits_everywhere
    ):
        hooks.remove(limiter._check_request_limit)  # (none when RATELIMIT_ENABLED is off)
    cache.init_app(app)
    production = app.config["APP_ENV"] == "production"
    talisman.init_app(
        app,
        force_https=production and not app.testing,
        strict_transport_security=production,
        session_cookie_secure=production,
        session_cookie_http_only=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("请先登录。")

    from .mail import init_mailer
    from .notifications.sms import init_sms

    init_mailer(app)  # app.extensions["mailer"]: the kernel's e-mails (or the log)
    init_sms(app)  # app.extensions["sms"]: text messages (the log until a provider is set)

    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        return session_user(login_id)


def register_blueprints(app: Flask) -> None:
    from catalog import bp as catalog_bp
    from orders import bp as orders_bp
    from vendors import bp as vendors_bp

    from .accounts import bp as auth_bp
    from .bureau import bp as bureau_bp
    from .main import bp as main_bp
    from .notifications import bp as notifications_bp
    from .orgs import bp as orgs_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(bureau_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(vendors_bp)
    app.register_blueprint(orders_bp)


def register_registries(app: Flask) -> None:
    """Fill every kernel registry; marketplace/registries.py says who calls each."""
    from catalog.demo import load_catalog_demo
    from catalog.imports import BenefitLinksImport, ProductsImport
    from catalog.restock import RestockPersonalData, stock_returned
    from catalog.views import featured_section
    from orders.fairs.demo import load_fairs_demo
    from orders.fairs.imports import FairsImport
    from orders.ledger.demo import load_orders_demo
    from orders.ledger.imports import SalesImport
    from orders.ledger.services import SALES_AREA
    from orders.policy.assessments import AssessmentsImport
    from orders.policy.demo import load_rewards_demo
    from orders.procurement.demo import load_procurement_demo
    from orders.reports.views import impact_section, vendor_month_panel
    from orders.settlement.views import latest_statement_panel
    from orders.shop.aftersales_views import after_sales_panel
    from orders.shop.demo import load_shop_demo
    from orders.shop.fulfilment_views import shipments_panel
    from orders.shop.notify import OrderNotifier
    from orders.shop.personal_data import ShopPersonalData
    from vendors.demo import load_stock_demo
    from vendors.services import WarehouseStock
    from vendors.views import low_stock_panel

    from . import registries
    from .bureau.imports import HouseholdsImport
    from .cli import register_importers
    from .demo import KERNEL_STEPS
    from .orgs.imports import VendorsImport

    # Every CSV import, in the order the upload page lists them (also `flask import ...`).
    register_importers(
        app,
        [
            HouseholdsImport,
            VendorsImport,
            ProductsImport,
            BenefitLinksImport,
            FairsImport,
            SalesImport,
            AssessmentsImport,
        ],
    )
    # Demo steps, in order; each loads its part once.
    registries.demo_steps.fill(
        app,
        [
            *KERNEL_STEPS,
            load_catalog_demo,
            load_stock_demo,
            load_orders_demo,
            load_shop_demo,
            load_procurement_demo,
            load_fairs_demo,
            load_rewards_demo,
        ],
    )
    # Sections of the home page, in order.
    registries.home_sections.fill(
        app,
        [
            registries.HomeSection(impact_section, (SALES_AREA,)),
            registries.HomeSection(featured_section, ("catalog",)),
        ],
    )
    # The vendor dashboard's panels, in order.
    registries.vendor_today.fill(
        app,
        [
            shipments_panel,
            after_sales_panel,
            low_stock_panel,
            vendor_month_panel,
            latest_statement_panel,
        ],
    )
    # Order e-mails (or the log without a mail server).
    registries.order_notifier.fill(app, OrderNotifier(app))
    # The stock column of the products import.
    registries.stock.fill(app, WarehouseStock())
    # A person's data in the packages above the kernel (download my data, delete account).
    registries.personal_data.fill(app, [ShopPersonalData(), RestockPersonalData()])
    # 到货提醒: the stock engine says which sold-out products are back.
    registries.stock_returned.fill(app, stock_returned)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register
    from .web import refuse_nul_characters

    register(app)
    app.before_request(refuse_nul_characters)


def register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from .authz import active_org, can_here
    from .chrome import page_footer, visitor_nav
    from .i18n import select_locale
    from .money import format_fen, format_fen_grouped
    from .notifications.services import unread_count

    def inbox_unread() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    app.add_template_filter(format_fen_grouped, "yuan")
    app.add_template_filter(format_fen, "yuan_plain")

    @app.context_processor
    def inject_helpers() -> dict:
        return {
            "can_here": can_here,
            "inbox_unread": inbox_unread,
            "active_org": active_org,
            "visitor_nav": visitor_nav,
            "page_footer": page_footer,
            "languages": app.config["LANGUAGES"],
            "current_locale": select_locale(),
        }


def register_commands(app: Flask) -> None:
    from catalog.cli import certifications_cli
    from orders.cli import orders_cli, report_cli
    from orders.policy.cli import rewards_cli

    from .cli import demo_cli, import_cli, users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(certifications_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(orders_cli)
    app.cli.add_command(rewards_cli)
