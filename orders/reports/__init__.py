"""Reports read the ledger: SQL aggregations over orders and attribution rows."""
