"""Settlement (结算): what the platform owes each vendor for its online sales.

Online payments are collected into the platform's one Stripe account; a monthly
statement per vendor adds up the vendor's online sales, shipping fees and refunds from
the ledger, takes the platform fee, and says what is payable. A statement once issued is
frozen (its amounts are stored); a refund made later falls in a later period and is
shown there as an adjustment. Its own room, not ``orders/reports``: reports write
nothing, and settlement writes statements and their payment."""
