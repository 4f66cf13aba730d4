"""The city's policy paid on results, computed from the ledger (issue 16): household
industry rewards (``rewards``), vendor rewards and transport subsidies
(``vendor_rewards``), assessed incomes (``assessments``), the approved, frozen lists
(``models``, ``lists``), the bureau's pages (``views``) and ``flask rewards`` (``cli``).
Its views are registered on the orders blueprint, like every room's."""
