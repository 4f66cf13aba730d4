"""Who may use which route: every endpoint and method of the app, with its access class.

A class says, for each role of the seeded world (tests/route_access_world.py), the status
a GET answers. The rules the classes spell out:

- an anonymous visitor asking for a page that needs an account is sent to log in (302);
- a signed-in user whose organization grants nothing there gets 403;
- someone else's object (another buyer's order, another vendor's product, a procurement
  order of another agency) is 404, as if it did not exist;
- the object's owner, or a role that grants the page, gets 200.

A state-changing route (POST) has the class of the page it acts on; every role the class
refuses is refused the POST the same way (302 to log in, 403 or 404) and the database is
left as it was. A route missing from ``TABLE`` fails the walk: a new route must say here
who may use it.
"""

from __future__ import annotations

from .route_access_world import ROLES

OK, LOGIN, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404
SIGNED_IN = [role for role in ROLES if role != "anonymous"]


def _klass(default: int, anonymous: int = LOGIN, **allowed: int) -> dict[str, int]:
    return {
        role: allowed.get(role, anonymous if role == "anonymous" else default) for role in ROLES
    }


CLASSES: dict[str, dict[str, int]] = {
    # anyone, signed in or not
    "PUBLIC": {role: OK for role in ROLES},
    # the log-in and sign-up forms: a signed-in user is sent on (302)
    "GUEST": _klass(LOGIN, anonymous=OK),
    # any account, whatever its organizations
    "SIGNED_IN": _klass(OK),
    # the citizen's own things (orders, their parts, addresses): 404 to anyone else
    "OWNER": _klass(NOT_FOUND, citizen=OK),
    # any seller's staff; the rest 403
    "SELLER": _klass(FORBIDDEN, vendor=OK, other_vendor=OK),
    # acting for the owning vendor's organization: 404 to anyone not a member
    "MEMBER": _klass(NOT_FOUND, vendor=OK),
    # the owning vendor's object: 404 to another vendor, 403 to non-sellers
    "SELLER_OWN": _klass(FORBIDDEN, vendor=OK, other_vendor=NOT_FOUND),
    # the bureau (乡村振兴局) only
    "BUREAU": _klass(FORBIDDEN, bureau=OK),
    # fair organizers and the bureau
    "ORGANIZER": _klass(FORBIDDEN, organizer=OK, bureau=OK),
    # an agency's buyer (its basket and catalogue)
    "AGENCY_BUYER": _klass(FORBIDDEN, buyer=OK),
    # an agency's administrator only (quotas): none of the world's roles
    "AGENCY_ADMIN": _klass(FORBIDDEN),
    # the agency's procurement order: its buyer and approver; 404 to anyone else
    "AGENCY_OWN": _klass(NOT_FOUND, buyer=OK, approver=OK),
    # an organization's administrator (members): none of the world's roles
    "ORG_ADMIN": _klass(FORBIDDEN),
    # a retailer's counter staff
    "COUNTER": _klass(FORBIDDEN, counter=OK),
    # staff of the pick-up point
    "PICKUP": _klass(FORBIDDEN, pickup=OK),
    # a link with a secret token: 404 for a token nobody was sent, whoever asks
    "TOKEN": {role: NOT_FOUND for role in ROLES},
    # signed by Stripe, no session, no CSRF token: refused without a valid signature
    "WEBHOOK": {role: 400 for role in ROLES},
}

# Files the world does not hold: the page answers 404 even to whom it would show them.
NO_FILE = {role: NOT_FOUND for role in ROLES}

# endpoint -> class for all its methods, or {method: class}; optionally with per-role
# overrides as (class, {role: status}).
TABLE: dict[str, object] = {
    # accounts
    "auth.login": "GUEST",
    "auth.register": "GUEST",
    "auth.register_sent": "PUBLIC",
    "auth.confirm_registration": "TOKEN",
    "auth.forgot_password": "PUBLIC",
    "auth.forgot_password_sent": "PUBLIC",
    "auth.reset_password": "TOKEN",
    "auth.privacy_policy": "PUBLIC",
    # logging out without being logged in is harmless: home (302), as after a log-out
    "auth.logout": ("PUBLIC", {role: LOGIN for role in ROLES}),
    "auth.logout_everywhere": "SIGNED_IN",
    "auth.profile": "SIGNED_IN",
    "auth.change_password": "SIGNED_IN",
    "auth.addresses": "SIGNED_IN",
    "auth.edit_address": "OWNER",
    "auth.default_address": "OWNER",
    "auth.delete_address": "OWNER",
    "auth.verify_phone": "SIGNED_IN",
    # the code form follows the number form: without a number sent, back to it (302)
    "auth.verify_phone_code": ("SIGNED_IN", {role: LOGIN for role in SIGNED_IN}),
    "auth.my_data": "SIGNED_IN",
    "auth.export_my_data": "SIGNED_IN",
    "auth.agree_policy": "SIGNED_IN",
    "auth.delete_account": "SIGNED_IN",
    "auth.edit_policy": "BUREAU",
    # kernel
    "main.home": "PUBLIC",
    "main.healthz": "PUBLIC",
    "main.set_language": "PUBLIC",
    "notifications.inbox": "SIGNED_IN",
    "notifications.open_notice": "OWNER",
    "notifications.read_all": "SIGNED_IN",
    "orgs.apply": "SIGNED_IN",
    "orgs.mine": "SIGNED_IN",
    # to act for an organization one belongs to (the owning vendor's, in the world)
    "orgs.switch": "MEMBER",
    "orgs.members": "ORG_ADMIN",
    "orgs.member_role": "ORG_ADMIN",
    "orgs.member_remove": "ORG_ADMIN",
    "orgs.review_queue": "BUREAU",
    "orgs.review": "BUREAU",
    "orgs.verify": "BUREAU",
    "orgs.reject": "BUREAU",
    "bureau.households": "BUREAU",
    "bureau.household": "BUREAU",
    "bureau.imports": "BUREAU",
    "bureau.import_template": "BUREAU",
    "bureau.audit_log": "BUREAU",
    "bureau.audit_export": "BUREAU",
    # catalog
    "catalog.product_list": "PUBLIC",
    "catalog.product_detail": "PUBLIC",
    "catalog.vendor_detail": "PUBLIC",
    "catalog.notices": "PUBLIC",
    "catalog.media_image": ("PUBLIC", NO_FILE),
    "catalog.restock_alert": "SIGNED_IN",
    "catalog.vendor_dashboard": "SELLER",
    "catalog.vendor_products": "SELLER",
    "catalog.vendor_product_new": "SELLER",
    "catalog.vendor_product_edit": "SELLER_OWN",
    "catalog.vendor_products_import": "SELLER",
    "catalog.vendor_products_template": "SELLER",
    "catalog.vendor_image_upload": "SELLER_OWN",
    "catalog.vendor_image_delete": "SELLER_OWN",
    "catalog.vendor_certify": "SELLER_OWN",
    "catalog.vendor_household_search": "SELLER",
    # a certification's test report: none uploaded in the world, so 404 to all signed in
    "catalog.vendor_report": ("SELLER", {role: NOT_FOUND for role in SIGNED_IN}),
    "catalog.certification_queue": "BUREAU",
    "catalog.certification_review": "BUREAU",
    "catalog.certifications_expiring": "BUREAU",
    "catalog.certification_approve": "BUREAU",
    "catalog.certification_decide": "BUREAU",
    # stock and labels
    "vendors.stock_list": "SELLER",
    "vendors.stock_product": "SELLER_OWN",
    "vendors.stock_receive": "SELLER_OWN",
    "vendors.stock_adjust": "SELLER_OWN",
    "vendors.stock_settings": "SELLER_OWN",
    "vendors.stock_import": "SELLER",
    "vendors.stock_import_template": "SELLER",
    "vendors.stock_movements": "SELLER",
    "vendors.stock_movements_export": "SELLER",
    "vendors.vendor_labels": "SELLER",
    "vendors.vendor_label_batches": "SELLER",
    "vendors.vendor_product_label_sheet": "SELLER_OWN",
    "vendors.vendor_batch_label_sheet": "SELLER_OWN",
    "vendors.vendor_batch_label_create": "SELLER_OWN",
    "vendors.vendor_product_label_create": "SELLER_OWN",
    "vendors.bureau_product_label_sheet": "BUREAU",
    "vendors.bureau_product_label_create": "BUREAU",
    "vendors.label_scan": "TOKEN",
    # shop: cart, checkout, payment
    "orders.cart": "PUBLIC",
    "orders.cart_add": "PUBLIC",
    "orders.cart_update": "PUBLIC",
    "orders.cart_remove": "PUBLIC",
    # an empty cart sends everyone signed in back to it (302)
    "orders.checkout": ("SIGNED_IN", {role: LOGIN for role in SIGNED_IN}),
    "orders.stripe_webhook": "WEBHOOK",
    "orders.my_orders": "SIGNED_IN",
    # a paid order has no payment page: its owner is sent to the order (302)
    "orders.pay": ("OWNER", {"citizen": LOGIN}),
    "orders.payment_return": ("OWNER", {"citizen": LOGIN}),
    "orders.start_payment": "OWNER",
    "orders.pay_test": "OWNER",
    "orders.order_detail": "OWNER",
    "orders.cancel_order": "OWNER",
    "orders.cancel_part_buyer": "OWNER",
    "orders.confirm_receipt": "OWNER",
    "orders.buy_again": "OWNER",
    "orders.after_sales_new": "OWNER",
    "orders.after_sales_return": "OWNER",
    "orders.after_sales_escalate": "OWNER",
    "orders.after_sales_photo": ("SIGNED_IN", NO_FILE),
    "orders.invoice_request": "OWNER",
    "orders.invoice_download": ("SIGNED_IN", NO_FILE),
    # vendor fulfilment
    "orders.vendor_orders": "SELLER",
    "orders.vendor_order": "SELLER_OWN",
    "orders.vendor_orders_export": "SELLER",
    "orders.vendor_slips": "SELLER",
    "orders.vendor_ship": "SELLER_OWN",
    "orders.vendor_cancel": "SELLER_OWN",
    "orders.vendor_tracking": "SELLER",
    "orders.vendor_tracking_template": "SELLER",
    "orders.vendor_after_sales": "SELLER",
    "orders.vendor_after_sales_accept": "SELLER_OWN",
    "orders.vendor_after_sales_refuse": "SELLER_OWN",
    "orders.vendor_after_sales_received": "SELLER_OWN",
    "orders.vendor_invoices": "SELLER",
    "orders.vendor_invoice_issue": "SELLER_OWN",
    "orders.vendor_invoice_reject": "SELLER_OWN",
    "orders.vendor_shipping": "SELLER",
    "orders.vendor_statements": "SELLER",
    "orders.vendor_statement": "SELLER_OWN",
    "orders.vendor_statement_file": "SELLER_OWN",
    # bureau: orders, after-sales, settlement, pick-up points, reports, rewards, watch
    "orders.bureau_orders": "BUREAU",
    "orders.bureau_order": "BUREAU",
    "orders.bureau_refund": "BUREAU",
    "orders.bureau_disputes": "BUREAU",
    "orders.bureau_arbitrate": "BUREAU",
    "orders.bureau_statements": "BUREAU",
    "orders.bureau_statement": "BUREAU",
    "orders.bureau_statement_file": "BUREAU",
    "orders.bureau_issue": "BUREAU",
    "orders.bureau_mark_paid": "BUREAU",
    "orders.pickup_points": "BUREAU",
    "orders.pickup_point_new": "BUREAU",
    "orders.pickup_point_edit": "BUREAU",
    "orders.pickup_point_toggle": "BUREAU",
    "orders.pickup_point_staff": "BUREAU",
    "orders.pickup_point_staff_add": "BUREAU",
    "orders.pickup_point_staff_remove": "BUREAU",
    "orders.household_benefits": "BUREAU",
    "orders.household_benefits_export": "BUREAU",
    "orders.reports_dashboard": "BUREAU",
    "orders.reports_dimension": "BUREAU",
    "orders.reports_households": "BUREAU",
    "orders.reports_export": "BUREAU",
    "orders.chart_css": "PUBLIC",
    "orders.impact": "PUBLIC",
    "orders.rewards_home": "BUREAU",
    "orders.reward_assessments": "BUREAU",
    "orders.reward_assess": "BUREAU",
    "orders.reward_households": "BUREAU",
    "orders.reward_households_file": "BUREAU",
    "orders.reward_vendors": "BUREAU",
    "orders.reward_vendors_file": "BUREAU",
    "orders.reward_vendor_statement": "BUREAU",
    "orders.reward_vendor_statement_file": "BUREAU",
    "orders.reward_approve_confirm": "BUREAU",
    "orders.reward_approve": "BUREAU",
    "orders.watch_list": "BUREAU",
    "orders.watch_household": "BUREAU",
    "orders.watch_export": "BUREAU",
    # pick-up station
    # the station's start page sends its staff to their point, and tells others they
    # work at none (200)
    "orders.station_home": ("SIGNED_IN", {"pickup": LOGIN}),
    "orders.station_point": "PICKUP",
    "orders.station_arrive": "PICKUP",
    "orders.station_collect": "PICKUP",
    # procurement
    # the start page: the agency's, a vendor's view of its orders, or the bureau's quotas
    "orders.procurement_home": (
        "AGENCY_BUYER",
        {"approver": OK, "vendor": OK, "other_vendor": OK, "bureau": LOGIN},
    ),
    "orders.procurement_catalogue": "AGENCY_BUYER",
    "orders.procurement_basket": "AGENCY_BUYER",
    "orders.procurement_basket_upload": "AGENCY_BUYER",
    "orders.procurement_submit": "AGENCY_BUYER",
    "orders.procurement_quota": "AGENCY_ADMIN",
    "orders.procurement_order": "AGENCY_OWN",
    "orders.procurement_print": "AGENCY_OWN",
    # the acceptance record exists once the goods are accepted: 404 before
    "orders.procurement_acceptance_print": ("AGENCY_OWN", {"buyer": 404, "approver": 404}),
    "orders.procurement_step": "AGENCY_OWN",
    "orders.procurement_bureau_quotas": "BUREAU",
    "orders.procurement_bureau_correct": "BUREAU",
    "orders.procurement_bureau_minimum": "BUREAU",
    # fairs and counters
    "orders.fairs_public": "PUBLIC",
    "orders.fair_public": "PUBLIC",
    "orders.organizer_fairs": "ORGANIZER",
    "orders.organizer_fair": "ORGANIZER",
    "orders.organizer_fair_action": "ORGANIZER",
    "orders.organizer_stall_decide": "ORGANIZER",
    "orders.vendor_fairs": "SELLER",
    "orders.vendor_fair_apply": "SELLER",
    "orders.vendor_stall_stock": "SELLER_OWN",
    "orders.stall_page": "SELLER_OWN",
    "orders.stall_data": "SELLER_OWN",
    "orders.stall_sale": "SELLER_OWN",
    "orders.stall_void": "SELLER_OWN",
    "orders.stall_service_worker": "PUBLIC",
    "orders.vendor_counters": "SELLER",
    "orders.vendor_counter": "SELLER",
    "orders.retailer_stores": "COUNTER",
    "orders.retailer_store": "COUNTER",
}

# Where a role other than the bureau may see household codes (never names): a vendor's
# certification application lists, by code, the households its product benefits, and
# its picker offers the households of the vendor's own town (code, village, and the
# head's name masked: 王*华). Another vendor sees none of them.
SHOWS_CODES: dict[str, set[str]] = {
    "catalog.vendor_certify": {"vendor"},
    "catalog.vendor_household_search": {"vendor"},
}


def expected(endpoint: str) -> tuple[str, dict[str, int]] | None:
    """The class name and each role's status for ``endpoint``; None if not in the table."""
    entry = TABLE.get(endpoint)
    if entry is None:
        return None
    name, overrides = entry if isinstance(entry, tuple) else (entry, {})
    return name, {**CLASSES[name], **overrides}
