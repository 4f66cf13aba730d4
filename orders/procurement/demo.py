"""Procurement demo: the two demo agencies' reserved shares for this year (海口市教育局
with a canteen budget, 海口市卫生健康委员会 declaring no canteen) and 海口市教育局's
orders to a cooperative in every state of the workflow, two of them paid, so the quota
page, the bureau's ranking and ``flask report quotas`` show progress. Everything goes
through the procurement services. Runs after the shop demo; loads once; deterministic."""

from __future__ import annotations

from sqlalchemy import select

from catalog import pricing
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.models import Organization, User
from vendors import stock

from . import basket, quotas, services
from .models import AgencyQuota, ProcurementOrder

AGENCY, NO_CANTEEN, VENDOR_CODE = "海口市教育局", "海口市卫生健康委员会", "V001"
DELIVERY = basket.ProcurementDelivery(
    "海口市龙华区滨海大道 88 号 机关食堂", "张采购", "13907561888", 15
)


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _org(**by) -> Organization | None:
    column, value = next(iter(by.items()))
    return db.session.scalar(select(Organization).where(getattr(Organization, column) == value))


def load_procurement_demo() -> bool:
    if db.session.scalar(select(AgencyQuota.id).limit(1)) is not None:
        return False
    buyer, approver = _user("buyer@demo.cn"), _user("approver@demo.cn")
    bureau_user, coop_user = _user("bureau@demo.cn"), _user("coop@demo.cn")
    agency, other, vendor = _org(name=AGENCY), _org(name=NO_CANTEEN), _org(code=VENDOR_CODE)
    if None in (buyer, approver, bureau_user, coop_user, agency, other, vendor):
        return False  # the kernel or catalog demo is not loaded
    bureau = bureau_user.memberships[0].org
    year = local_today().year
    quotas.correct_quota(
        bureau_user,
        bureau,
        agency.id,
        quotas.QuotaInput(year, 8_000_000_00, 1000),
        "按年初部门预算录入",
    )
    quotas.correct_quota(
        bureau_user,
        bureau,
        other.id,
        quotas.QuotaInput(
            year, no_canteen=True, no_canteen_reason="职工餐由外包单位提供，无自办食堂"
        ),
        "单位申报无食堂",
    )
    # the cooperative's two best-stocked products (every order below needs about 40 units)
    products = sorted(
        (p for p in basket.catalogue() if p.vendor_id == vendor.id),
        key=lambda p: (-stock.available(p.id), p.id),
    )[:2]
    products = [p for p in products if stock.available(p.id) >= 40]
    if not products:
        return True

    def order(step: str, units: int = 0, short: int = 0) -> ProcurementOrder:
        for product in products:
            quantity = max(pricing.minimum_quantity(product, agency=True), 2) + units
            basket.set_quantity(buyer, agency, product.id, quantity)
        (placed,) = basket.submit_basket(buyer, agency, DELIVERY)
        steps = ["submitted", "approved", "confirmed", "shipped", "accepted", "invoiced", "paid"]
        reached = steps.index(step)
        if reached >= 1:
            services.approve(approver, agency, placed.id, "同意采购")
        if reached >= 2:
            services.confirm(coop_user, vendor, placed.id)
        if reached >= 3:
            shipped = {line.id: line.quantity for line in placed.lines}
            services.ship(coop_user, vendor, placed.id, shipped, "SH-DEMO")
        if reached >= 4:
            received = {line.id: line.shipped_quantity for line in placed.lines}
            received[placed.lines[0].id] -= short
            services.accept(buyer, agency, placed.id, received, "数量质量合格")
        if reached >= 5:
            services.invoice(
                coop_user,
                vendor,
                placed.id,
                services.Invoice(
                    f"4600{placed.id:08d}",
                    local_today(),
                    placed.accepted_total,
                    agency.name,
                    agency.credit_code or "11460100MB0000000X",
                ),
            )
        if reached >= 6:
            services.pay(
                buyer,
                agency,
                placed.id,
                services.TransferPayment(f"HX{placed.id:010d}", local_today()),
            )
        return placed

    order("paid", units=8)
    order("paid", units=3)
    order("invoiced")
    order("accepted", short=1)
    order("shipped")
    order("confirmed")
    order("approved")
    order("submitted")
    rejected = order("submitted")
    services.reject(approver, agency, rejected.id, "请核对数量后重新提交")
    declined = order("approved")
    services.decline(coop_user, vendor, declined.id, "本批次已售完")
    cancelled = order("submitted")
    services.cancel(buyer, agency, cancelled.id, "会议取消，不再需要")
    return True
