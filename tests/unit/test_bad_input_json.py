"""Random bodies to the JSON endpoints (issue 17, item 4): the Stripe webhook, unsigned
and correctly signed, and the fair stall's sale and void (JSON from a phone). Every answer
is a 2xx or a 4xx, never a 500, and a refused body writes nothing."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from orders.fairs import stalls

from ..conftest import TEST_PASSWORD
from ..fair_helpers import stall_at_fair
from .bad_input import FUZZ, SCRIPT, row_counts, value
from .test_shop_webhooks import deliver, sign, stripe_config  # noqa: F401 (a fixture)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    value,
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {
        "id": st.one_of(value, st.integers(), st.none()),
        "object": st.just("event"),
        "type": st.sampled_from(
            ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded", ""]
        ),
        "data": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "object": st.one_of(
                        json_values,
                        st.fixed_dictionaries(
                            {
                                "id": st.one_of(value, st.integers(), st.none()),
                                "object": st.just("payment_intent"),
                                "payment_method_types": json_values,
                                "charges": json_values,
                                "payment_method": json_values,
                                "last_payment_error": json_values,
                            }
                        ),
                    )
                }
            ),
        ),
    }
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
)


def refused_writes_nothing(before: dict, after: dict, status: int) -> None:
    assert status < 500
    if status >= 400:
        assert before == after


def test_unsigned_random_bodies_to_the_stripe_webhook_are_400(app, client, stripe_config):  # noqa: F811
    @FUZZ
    @given(body=raw_bodies, signature=st.one_of(st.none(), value))
    def check(body, signature):
        before = row_counts()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        response = client.post("/webhooks/stripe", data=body, headers=headers)
        assert response.status_code == 400, response.status_code
        assert row_counts() == before

    check()


def test_signed_random_events_to_the_stripe_webhook_never_answer_500(app, client, stripe_config):  # noqa: F811
    @FUZZ
    @given(event=st.one_of(event_like, json_values))
    def check(event):
        payload = json.dumps(event).encode()
        before = row_counts()
        response = deliver(client, payload, sign(payload))
        refused_writes_nothing(before, row_counts(), response.status_code)

    check()


def test_random_bodies_to_the_stall_sale_and_void_are_4xx_never_500(app):
    s = stall_at_fair()
    fair, vendor, product = s.fair, s.seller, s.product
    client = app.test_client()
    assert (
        client.post("/login", data={"email": vendor.email, "password": TEST_PASSWORD}).status_code
        == 302
    )
    sale = st.fixed_dictionaries(
        {
            "token": st.one_of(value, json_values),
            "payment_method": st.one_of(st.sampled_from(["cash", "wechat"]), json_values),
            "made_at": st.one_of(value, json_values, st.just("2026-06-01T10:00:00+08:00")),
            "lines": st.one_of(
                json_values,
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "product_id": st.one_of(st.just(product.id), json_values),
                            "quantity": st.one_of(st.integers(-(2**70), 2**70), json_values),
                            "unit_price": st.one_of(st.none(), json_values),
                        }
                    ),
                    max_size=stalls.MAX_SALE_LINES + 2,
                ),
            ),
        }
    )

    @FUZZ
    @given(body=st.one_of(sale, json_values.map(json.dumps)), void=st.booleans())
    def check(body, void):
        url = f"/vendor/fairs/{fair.id}/stall/sales"
        if void:
            url += f"/{2**40}/void"
        before = row_counts()
        if isinstance(body, str):
            response = client.post(url, data=body, content_type="application/json")
        else:
            response = client.post(url, json=body)
        refused_writes_nothing(before, row_counts(), response.status_code)
        assert SCRIPT not in response.get_data(as_text=True)

    check()
