"""The sales ledger: orders and lines of every channel, refunds, household attribution,
the one paid-sale core every channel ends in, and the bulk sales import. The ledger calls
no channel."""
