"""The city's reward rules, pure arithmetic in fen (configured in docs/formats.md,
"Configuration"): a household's income tier, the estimate of its net income, a vendor's
reward for the households it drove and its transport subsidy."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app


@dataclass(frozen=True)
class Rules:
    tiers: tuple[tuple[int, int], ...]  # (net income reached, reward), fen, rising
    income_ratio: Decimal  # estimated net income = attributed sales x this
    per_household: int  # fen, for each household driven above the floor
    floor: int  # households
    subsidy_percent: Decimal  # of certified sales
    subsidy_cap: int  # fen, per vendor and year

    @classmethod
    def configured(cls) -> Rules:
        config = current_app.config
        return cls(
            tiers=tuple(tuple(t) for t in config["REWARD_TIERS"]),
            income_ratio=Decimal(str(config["REWARD_INCOME_RATIO"])),
            per_household=int(config["VENDOR_REWARD_PER_HOUSEHOLD"]),
            floor=int(config["VENDOR_REWARD_FLOOR"]),
            subsidy_percent=Decimal(str(config["TRANSPORT_SUBSIDY_PERCENT"])),
            subsidy_cap=int(config["TRANSPORT_SUBSIDY_CAP"]),
        )

    def to_json(self) -> dict:
        """Kept on an approved list: the rules it was computed with."""
        return {
            "tiers": [list(t) for t in self.tiers],
            "income_ratio": str(self.income_ratio),
            "per_household": self.per_household,
            "floor": self.floor,
            "subsidy_percent": str(self.subsidy_percent),
            "subsidy_cap": self.subsidy_cap,
        }

    @classmethod
    def from_json(cls, data: dict) -> Rules:
        return cls(
            tiers=tuple(tuple(t) for t in data["tiers"]),
            income_ratio=Decimal(data["income_ratio"]),
            per_household=int(data["per_household"]),
            floor=int(data["floor"]),
            subsidy_percent=Decimal(data["subsidy_percent"]),
            subsidy_cap=int(data["subsidy_cap"]),
        )

    def tier(self, income: int) -> tuple[int, int]:
        """``(threshold, reward)`` of the highest tier ``income`` reaches (a household
        gets that one only); ``(0, 0)`` below the first."""
        reached = [(threshold, reward) for threshold, reward in self.tiers if income >= threshold]
        return max(reached) if reached else (0, 0)

    def estimate(self, attributed: int) -> int:
        """Net income estimated from the attributed sales, rounded half up to the fen."""
        if attributed <= 0:
            return 0
        return int((attributed * self.income_ratio).to_integral_value(ROUND_HALF_UP))

    def vendor_reward(self, households_driven: int) -> int:
        """``per_household`` for each household driven beyond ``floor``."""
        return self.per_household * max(0, households_driven - self.floor)

    def transport_subsidy(self, certified_sales: int) -> int:
        """``subsidy_percent`` of the certified sales, half up to the fen, at most
        ``subsidy_cap``; none on nothing sold."""
        if certified_sales <= 0:
            return 0
        share = (certified_sales * self.subsidy_percent / 100).to_integral_value(ROUND_HALF_UP)
        return min(int(share), self.subsidy_cap)
