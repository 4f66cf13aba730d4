"""Market fairs (爱心扶贫集市) and supermarket counters (专区专柜): fairs, stalls,
counters and their sales, which enter the ledger through its paid-sale core."""
