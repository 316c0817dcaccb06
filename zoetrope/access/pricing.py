"""What a generation costs: credits per model x second x resolution, and points on the free channel.

Pure: the config and a request summary in, a `Charge` out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoetrope.access.entitlements import RequestSummary
from zoetrope.config import Config, Plan


@dataclass(frozen=True)
class Charge:
    """The cost of one request, reserved at submit and captured at success."""

    credits: int = 0
    points: int = 0
    fast_free_used: int = 0  # free fast generations this request consumes


def _tier(rates: dict[str, float], short_side: int) -> float:
    # The smallest tier that holds the short side; above every tier, the largest one.
    tiers = sorted((int(k), v) for k, v in rates.items())
    for side, rate in tiers:
        if short_side <= side:
            return rate
    return tiers[-1][1]


def price(config: Config, req: RequestSummary) -> int:
    """Credits for `req` at list price, rounded up to a whole credit: per generated second
    (source footage a task keeps is not charged) or per image."""
    override = config.prices.models.get(req.model)
    if req.is_image:
        each = (
            override.image_credits
            if override and override.image_credits is not None
            else config.prices.image_credits
        )
        return math.ceil(each * req.n)
    rates = override.credits_per_second if override and override.credits_per_second else None
    rate = _tier(rates or config.prices.credits_per_second, req.short_side)
    return math.ceil(round(rate * req.generated_seconds * req.n, 6))


def charge_for(config: Config, plan: Plan, req: RequestSummary, lane: str, fast_used: int = 0) -> Charge:
    """What `req` costs on `plan` in `lane`, given the free fast generations already used."""
    if not plan.free_generations:
        return Charge(credits=price(config, req))
    if lane != "fast":
        return Charge()
    free_left = max(0, plan.free_fast_generations - fast_used)
    free_now = min(free_left, req.n)
    return Charge(points=(req.n - free_now) * plan.fast_points_cost, fast_free_used=free_now)
