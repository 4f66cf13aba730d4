"""The citizens' online shop, one module per step of an order's life:

- ``cart``: what may go in the cart, its lines and the stored cart
- ``checkout``: the order placed with its stock reserved (``place_order``)
- ``payment``: the payment attempt and its outcome (``complete_payment``, the one way an
  online order becomes paid, through the ledger's paid-sale core)
- ``expiry``: unpaid orders cancelled, unconfirmed parts received, on time
- ``fulfilment``: buyer cancels or confirms, vendors ship or cancel their part, the
  bureau's after-sales refunds
- ``refunds``: refunds recorded with their restock (and a whole part's shipping fee),
  and settled through the gateway
- ``shipping``: each vendor's shipping rule and the fee of each vendor's part
- ``queries``: what the buyer's, vendor's and bureau's order pages read
- ``aftersales``: after-sales requests per part (photos in a private folder);
  ``invoices``: e-invoices per part (request, issue with the PDF, reject, download)
- ``pickup``: pick-up points; ``station``: pick-up codes, arrival and collection at a
  station, and who works there
- ``parts``: the steps these share (an order's vendor parts, its goods, its lock)
- ``gateways`` (Stripe, the local test gateway), ``webhooks``, ``notify``, ``models``,
  and the views (``views``, ``display``, ``fulfilment_views``, ``station_views``) and forms."""
