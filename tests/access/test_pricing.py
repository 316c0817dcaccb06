"""Prices per model x second x resolution, and the free channel's points for fast generations."""

from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.pricing import Charge, charge_for, price
from zoetrope.config import load_config

CFG = load_config()


def req(w=1280, h=720, seconds=10.0, model="zoetrope-mini", n=1, task="t2v") -> RequestSummary:
    return RequestSummary(model=model, width=w, height=h, seconds=seconds, n=n, task=task)


def test_price_is_seconds_times_the_rate_of_the_resolution_tier():
    assert price(CFG, req(854, 480, 5)) == 5
    assert price(CFG, req(1280, 720, 10)) == 20
    assert price(CFG, req(1920, 1080, 20)) == 80
    assert price(CFG, req(640, 360, 4)) == 4  # below the smallest tier: the smallest tier
    assert price(CFG, req(1280, 720, 2.5, n=3)) == 15


def test_fractional_seconds_round_up_to_a_whole_credit():
    assert price(CFG, req(854, 480, 1.2)) == 2


def test_images_cost_image_credits_each():
    assert price(CFG, req(720, 720, 0, task="t2i", n=4)) == 4


def test_unknown_models_use_the_default_table_and_models_can_override_it():
    cfg = CFG.model_copy(deep=True)
    cfg.prices.models["upstream-sora"] = cfg.prices.models["zoetrope-mini"].model_copy(
        update={"credits_per_second": {"720": 10}}
    )
    assert price(cfg, req(model="upstream-sora")) == 100
    assert price(cfg, req(model="anything-else")) == 20


def test_paid_plans_pay_credits_in_any_lane():
    assert charge_for(CFG, CFG.plan("plus"), req(), "relaxed") == Charge(credits=20)
    assert charge_for(CFG, CFG.plan("pro"), req(1920, 1080, 20), "fast") == Charge(credits=80)


def test_bing_standard_generations_are_free():
    assert charge_for(CFG, CFG.plan("bing-free"), req(480, 854, 5), "relaxed") == Charge()


def test_bing_fast_generations_are_free_for_ten_then_cost_points():
    plan = CFG.plan("bing-free")
    r = req(480, 854, 5)
    assert charge_for(CFG, plan, r, "fast", fast_used=0) == Charge(fast_free_used=1)
    assert charge_for(CFG, plan, r, "fast", fast_used=9) == Charge(fast_free_used=1)
    assert charge_for(CFG, plan, r, "fast", fast_used=10) == Charge(points=100)
    two = req(480, 854, 5, n=2)
    assert charge_for(CFG, plan, two, "fast", fast_used=9) == Charge(points=100, fast_free_used=1)
