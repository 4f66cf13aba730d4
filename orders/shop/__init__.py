"""The citizens' online shop: cart, checkout, payments (Stripe and the local test
gateway) and webhooks, fulfilment, pick-up points, after-sales and notifications."""
