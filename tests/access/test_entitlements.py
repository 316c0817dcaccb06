"""Every row of the plans table, checked as a refusal or a grant at submit."""

import pytest

from zoetrope.access.entitlements import RequestSummary, check_concurrency, check_request, concurrency_limit
from zoetrope.config import load_config
from zoetrope.errors import EntitlementExceeded, QuotaExceeded

CFG = load_config()


def req(w=1280, h=720, seconds=5.0, task="t2v", lane=None, n=1) -> RequestSummary:
    return RequestSummary(
        model="zoetrope-mini", width=w, height=h, seconds=seconds, task=task, lane=lane, n=n
    )


def refused(plan: str, r: RequestSummary) -> EntitlementExceeded:
    with pytest.raises(EntitlementExceeded) as e:
        check_request(CFG, CFG.plan(plan), r)
    assert e.value.status == 403
    return e.value


def granted(plan: str, r: RequestSummary):
    return check_request(CFG, CFG.plan(plan), r)


@pytest.mark.parametrize("plan", ["plus", "team"])
def test_plus_and_team_allow_10_s_at_720p_relaxed_watermarked(plan):
    g = granted(plan, req(1280, 720, 10))
    assert (g.lane, g.watermark) == ("relaxed", True)
    granted(plan, req(720, 1280, 10))


@pytest.mark.parametrize("plan", ["plus", "team"])
def test_plus_and_team_refuse_longer_than_10_s_and_point_to_pro(plan):
    e = refused(plan, req(seconds=12))
    assert e.code == "duration_exceeds_plan" and e.param == "seconds"
    assert e.message == f"{plan} allows up to 10 s; ask for 10 s or upgrade to pro"


def test_an_extension_over_the_limit_says_how_much_may_be_added():
    """The limit counts the source: a 2 s video extended by 19 s is 21 s, and pro (20 s) takes at
    most 18 s more, not the 20 s a plain request may ask for."""
    extension = RequestSummary(
        model="zoetrope-mini", width=1280, height=720, seconds=21, task="extend", new_seconds=19
    )
    e = refused("pro", extension)
    assert e.message == "pro allows up to 20 s; the result would be 21 s: add at most 18 s"


@pytest.mark.parametrize("plan", ["plus", "team"])
def test_plus_and_team_refuse_1080p_and_point_to_pro(plan):
    e = refused(plan, req(1920, 1080, 5))
    assert e.code == "resolution_exceeds_plan"
    assert e.message == f"{plan} allows up to 720p; ask for 1280x720 or smaller or upgrade to pro"


def test_plus_has_no_fast_lane():
    e = refused("plus", req(lane="fast"))
    assert e.code == "lane_not_in_plan" and "relaxed" in e.message and "upgrade to pro" in e.message


@pytest.mark.parametrize("plan", ["plus", "pro", "team"])
def test_paid_plans_include_unlimited_images(plan):
    granted(plan, req(720, 720, seconds=0, task="t2i"))


def test_pro_allows_20_s_1080p_fast_and_watermark_free():
    g = granted("pro", req(1920, 1080, 20))
    assert (g.lane, g.watermark) == ("fast", False)
    assert granted("pro", req(1920, 1080, 20, lane="relaxed")).lane == "relaxed"


def test_pro_refuses_beyond_its_limits_with_no_upgrade_to_offer():
    e = refused("pro", req(1920, 1080, 25))
    assert e.message == "pro allows up to 20 s; ask for 20 s"
    assert refused("pro", req(3840, 2160, 5)).code == "resolution_exceeds_plan"


def test_concurrency_per_plan_and_team_scales_with_seats():
    assert concurrency_limit(CFG.plan("plus")) == 1
    assert concurrency_limit(CFG.plan("pro")) == 5
    assert concurrency_limit(CFG.plan("team"), seats=4) == 4
    check_concurrency(CFG, CFG.plan("pro"), active=4)
    with pytest.raises(QuotaExceeded) as e:
        check_concurrency(CFG, CFG.plan("plus"), active=1)
    assert e.value.status == 429 and e.value.retry_after and "upgrade to pro" in e.value.message
    with pytest.raises(QuotaExceeded, match="5 concurrent jobs"):
        check_concurrency(CFG, CFG.plan("pro"), active=5)


@pytest.mark.parametrize("r", [req(), req(1024, 1024, 0, "t2i")])
def test_free_plan_has_no_video_or_images_and_points_to_plus(r):
    e = refused("free", r)
    assert e.code == "generation_not_in_plan" and "upgrade to plus" in e.message


def test_bing_free_allows_5_s_vertical_480p():
    g = granted("bing-free", req(480, 854, 5))
    assert (g.lane, g.watermark) == ("relaxed", True)
    assert granted("bing-free", req(270, 480, 5, lane="fast")).lane == "fast"


def test_bing_free_refuses_landscape_and_square_with_an_example_size():
    e = refused("bing-free", req(854, 480, 5))
    assert e.code == "aspect_not_in_plan" and "9:16" in e.message and "480x854" in e.message
    assert refused("bing-free", req(480, 480, 5)).code == "aspect_not_in_plan"


def test_bing_free_refuses_longer_than_5_s_higher_than_480p_images_and_other_tasks():
    assert refused("bing-free", req(480, 854, 6)).message.startswith(
        "bing-free allows up to 5 s; ask for 5 s"
    )
    assert refused("bing-free", req(720, 1280, 5)).code == "resolution_exceeds_plan"
    assert refused("bing-free", req(480, 854, 0, "t2i")).code == "images_not_in_plan"
    assert refused("bing-free", req(480, 854, 5, "remix")).code == "task_not_in_plan"


@pytest.mark.parametrize("plan", ["enterprise", "edu"])
def test_excluded_plans_have_no_generation_entitlement(plan):
    assert refused(plan, req()).code == "generation_not_in_plan"


def test_limits_are_configuration(tmp_path):
    from importlib import resources

    text = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    path = tmp_path / "z.toml"
    path.write_text(
        text.replace(
            "max_seconds = 10\nmax_resolution = 720\nimages",
            "max_seconds = 15\nmax_resolution = 720\nimages",
            1,
        )
    )
    cfg = load_config(path)
    check_request(cfg, cfg.plan("plus"), req(seconds=15))
