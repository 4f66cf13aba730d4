"""After-sales photos are private (issue 13): stored outside the public images folder,
never served by the public media route, sent only to the buyer, the part's vendor staff
and bureau staff; a visitor, another buyer and the order's other vendor get 404. The
migration moves photos stored before into the private folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from orders.shop import aftersales
from orders.shop.fulfilment import ship_part

from ..factories import UserFactory
from .test_fulfilment import bureau_staff, part, two_vendor_market
from .test_shop_after_sales import lines_of, photo


@pytest.fixture
def market():
    return two_vendor_market()


def test_photos_go_to_the_private_folder_and_only_the_parties_see_them(app, client, auth, market):
    order, a = market["order"], market["a"]
    ship_part(market["staff_a"], a, order.id, "顺丰速运", "SF1")
    request = aftersales.request_after_sales(
        market["buyer"],
        order.id,
        part(order, a.id).id,
        "refund",
        "坏了",
        {next(iter(lines_of(order, a.id))): 1},
        [photo()],
    )
    name = request.photos[0]
    root = Path(app.config["UPLOAD_FOLDER"])
    assert (root / "aftersales" / name).is_file()
    assert not (root / "images" / name).exists()
    assert client.get(f"/media/images/{name}").status_code == 404  # not public

    url = f"/after-sales/photo/{name}"
    assert client.get(url).status_code == 404  # a visitor
    for who, expected in [
        (market["buyer"], 200),
        (market["staff_a"], 200),
        (bureau_staff(), 200),
        (UserFactory(), 404),  # another buyer
        (market["staff_b"], 404),  # the order's other vendor
    ]:
        auth.login(who.email)
        response = client.get(url)
        assert response.status_code == expected, who.email
        if expected == 200:
            assert response.mimetype == "image/png"
            assert response.headers["Cache-Control"].startswith("private")
        response.close()
        auth.logout()


def test_the_migration_moves_old_photos_out_of_the_public_folder(app, market):
    import importlib.util

    from marketplace.extensions import db
    from orders.shop.models import AfterSalesRequest

    order, a = market["order"], market["a"]
    root = Path(app.config["UPLOAD_FOLDER"])
    (root / "images").mkdir(parents=True, exist_ok=True)
    token = "ab" * 16
    for filename in (f"{token}.png", f"{token}_t.png"):
        (root / "images" / filename).write_bytes(b"old")
    db.session.add(
        AfterSalesRequest(
            order_id=order.id,
            shipment_id=part(order, a.id).id,
            kind="refund",
            reason="旧的",
            quantities={},
            photos=[f"{token}.png"],
        )
    )
    db.session.commit()
    path = next(Path("migrations/versions").glob("inv1a2b3c4d5_*.py"))
    spec = importlib.util.spec_from_file_location("inv_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Op:
        @staticmethod
        def get_bind():
            return db.session.connection()

    module.op = Op
    module._move_photos("images", "aftersales")
    assert (root / "aftersales" / f"{token}.png").read_bytes() == b"old"
    assert (root / "aftersales" / f"{token}_t.png").is_file()
    assert not (root / "images" / f"{token}.png").exists()
