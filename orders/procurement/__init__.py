"""Agencies' bulk procurement (预算单位采购): quotas, the procurement workflow and its
documents. Paid procurement orders enter the ledger through its paid-sale core."""
