"""Length refusals through the API in process. Of tasks on an uploaded video: when the source alone
reaches the limit (the plan's, 403; the model's, 400), the error names `video` and says how to trim
it, never a `seconds` that cannot help; when the source fits, it names `seconds` with how much may
be added. Of a whole new video (text to video, a storyboard), the longest that is allowed. Over both
limits, the lower one's refusal is answered. The fix each refusal gives is accepted."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient

FPS = 8  # the bundled model's: the clips below are read frame for frame


def mp4(seconds: float) -> bytes:
    """A tiny (16x16) clip of `seconds` at 8 fps."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for i in range(round(seconds * FPS)):
            pixels = np.full((16, 16, 3), (i * 3) % 256, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        out.mux(stream.encode())
    return buf.getvalue()


# A plan with no length limit of its own (a channel's: never offered as an upgrade), whose accounts
# meet the model's limit (60 s) alone.
STUDIO = '\n[plans.studio]\nchannel = "studio"\nvideo = true\nimages = "unlimited"\nconcurrent_jobs = 5\n'


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The app in process, with a pro, a plus and a studio account: its client, keys, accounts and database."""
    from importlib import resources

    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.api import Services, create_app
    from zoetrope.backends.registry import get_registry
    from zoetrope.config import get_config
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.dispatch import DispatchPolicy
    from zoetrope.jobs.migrate import upgrade
    from zoetrope.settings import get_settings
    from zoetrope.storage import BlobStore

    config = tmp_path / "zoetrope.toml"
    config.write_text(resources.files("zoetrope.config").joinpath("defaults.toml").read_text() + STUDIO)
    monkeypatch.setenv("ZOETROPE_CONFIG_FILE", str(config))
    get_settings.cache_clear()
    get_config.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    upgrade(engine)
    keys, accounts = {}, {}
    with transaction(engine, immediate=True) as s:
        for plan in ("pro", "plus", "studio"):
            accounts[plan] = create_account(s, plan, plan=plan).id
            keys[plan] = create_key(s, accounts[plan])[1]
    app = create_app(Services(engine, get_registry(), BlobStore(str(tmp_path / "blobs")), DispatchPolicy()))
    with TestClient(app) as client:
        yield SimpleNamespace(client=client, keys=keys, accounts=accounts, engine=engine)
    engine.dispose()


def answer(r) -> SimpleNamespace:
    body = r.json()
    return SimpleNamespace(status=r.status_code, body=body, error=body.get("error") or {})


@pytest.fixture
def api(served):
    def post(path: str, clip_seconds: float, plan: str = "pro", **fields) -> SimpleNamespace:
        return answer(
            served.client.post(
                path,
                headers={"Authorization": f"Bearer {served.keys[plan]}"},
                data={"prompt": "a ball rolls", **fields},
                files={"video": ("clip.mp4", mp4(clip_seconds), "video/mp4")},
            )
        )

    return post


def test_extending_a_video_already_over_the_plan_names_the_video_and_how_to_trim_it(api):
    """pro makes 20 s: a 30 s upload extended by 1 s was 'add at most 0 s', naming seconds."""
    r = api("/v1/videos/extensions", 30, seconds="1")
    assert r.status == 403 and r.error["code"] == "duration_exceeds_plan"
    assert r.error["param"] == "video"
    assert (
        "the video is already 30 s" in r.error["message"] and "Trim it to 19 s or less" in r.error["message"]
    )
    assert "/recut" in r.error["message"] and "zoetrope recut FILE --start 0 --end 19" in r.error["message"]
    assert "add at most" not in r.error["message"]
    assert api("/v1/videos/extensions", 19, seconds="1").status == 200  # the fix it gives


def test_a_plan_that_allows_the_length_is_offered(api):
    r = api("/v1/videos/extensions", 15, plan="plus", seconds="1")
    assert (r.status, r.error["param"]) == (403, "video")
    assert r.error["message"].endswith("or upgrade to pro")


def test_editing_a_video_over_the_plan_names_the_video_never_seconds(api):
    """An edit keeps its source's length: 'ask for 20 s' was itself refused by the edit."""
    r = api("/v1/videos/edits", 30)
    assert r.status == 403 and r.error["code"] == "duration_exceeds_plan"
    assert r.error["param"] == "video"
    assert "a remix keeps its source's length" in r.error["message"]
    assert "Trim it to 20 s or less" in r.error["message"] and "--end 20" in r.error["message"]
    assert "ask for" not in r.error["message"] and "seconds" not in r.error["message"]
    assert api("/v1/videos/edits", 20).status == 200  # the fix it gives


@pytest.mark.parametrize(
    ("path", "fields", "keep"),
    [("/v1/videos/extensions", {"seconds": "1"}, "59"), ("/v1/videos/edits", {}, "60")],
)
def test_a_video_over_the_models_limit_names_the_video(api, path, fields, keep):
    """The bundled model makes 60 s: a 75 s upload was 'ask for 0.0 s or fewer', naming seconds."""
    r = api(path, 75, plan="studio", **fields)
    assert r.status == 400 and r.error["code"] == "invalid_request"
    assert r.error["param"] == "video"
    assert "75.0 s" in r.error["message"] and "the limit is 60 s" in r.error["message"]
    assert f"trim it to {keep} s or less" in r.error["message"] and f"--end {keep}" in r.error["message"]
    assert "or fewer" not in r.error["message"] and "ask for" not in r.error["message"]


def test_a_source_that_fits_names_seconds_with_what_may_be_added(api):
    plan = api("/v1/videos/extensions", 15, seconds="10")
    assert (plan.status, plan.error["param"]) == (403, "seconds")
    assert plan.error["message"] == "pro allows up to 20 s; the result would be 25 s: add at most 5 s"
    model = api("/v1/videos/extensions", 59, plan="studio", seconds="2")  # over the model's 60 s
    assert (model.status, model.error["param"]) == (400, "seconds")
    assert model.error["message"] == "the result would be 61.0 s; the limit is 60 s: add at most 1 s"


@pytest.fixture
def on_video(served):
    """`video(seconds)`: the id of a finished video of pro's (or `plan`'s account's) that long;
    `post(path, body)`: a JSON request of pro's (with `quote`, the price it would be, nothing queued)."""
    from zoetrope.db import transaction
    from zoetrope.jobs import store
    from zoetrope.jobs.models import Job

    def video(seconds: float, plan: str = "pro") -> str:
        with transaction(served.engine, immediate=True) as s:
            job = Job(account_id=served.accounts[plan], model="zoetrope-mini", backend_model="zoetrope-mini",
                      prompt="a ball rolls", seconds=f"{seconds:g}", size="16x16", status="completed",
                      outputs={"video": "videos/none/1/video.mp4"}, details={"frames": round(seconds * FPS)})  # fmt: skip
            return store.add_job(s, job).id

    def post(path: str, body: dict, quote: bool = False, plan: str = "pro") -> SimpleNamespace:
        headers = {"Authorization": f"Bearer {served.keys[plan]}"}
        if quote:
            headers["Zoetrope-Quote"] = "true"
        return answer(served.client.post(path, headers=headers, json={"prompt": "a ball rolls", **body}))

    return SimpleNamespace(video=video, post=post)


@pytest.fixture
def studio_credits(served):
    """Credits for the studio account, whose plan grants none: what it makes is charged."""
    from zoetrope.access import ledger
    from zoetrope.db import transaction

    with transaction(served.engine, immediate=True) as s:
        ledger.grant(s, served.accounts["studio"], 100)


@pytest.mark.parametrize("quote", [False, True])
def test_a_refusal_about_a_source_named_in_the_path_names_video_id(on_video, quote):
    """Remix, loop and recut take their source from the path: the plan's and the model's refusals
    about it said `video`, a field these requests do not have."""
    long, over_model = on_video.video(30), on_video.video(75, "studio")
    remix = on_video.post(f"/v1/videos/{long}/remix", {}, quote)
    assert (remix.status, remix.error["code"], remix.error["param"]) == (
        403,
        "duration_exceeds_plan",
        "video_id",
    )
    assert (
        "a remix keeps its source's length" in remix.error["message"] and "--end 20" in remix.error["message"]
    )
    loop = on_video.post(f"/v1/videos/{long}/loop", {"seconds": "1"}, quote)
    assert (loop.status, loop.error["code"], loop.error["param"]) == (
        403,
        "duration_exceeds_plan",
        "video_id",
    )
    assert "Trim it to 19 s or less" in loop.error["message"]
    model = on_video.post(f"/v1/videos/{over_model}/loop", {"seconds": "1"}, quote, "studio")
    assert (model.status, model.error["code"], model.error["param"]) == (400, "invalid_request", "video_id")
    assert "trim it to 59 s or less" in model.error["message"]
    # The fixes they give, sent back: the source cut to the length named, then the task on it
    assert on_video.post(f"/v1/videos/{long}/recut", {"start": 0, "end": 20}, quote).status == 200
    assert on_video.post(f"/v1/videos/{on_video.video(20)}/remix", {}, quote).status == 200
    assert on_video.post(f"/v1/videos/{on_video.video(19)}/loop", {"seconds": "1"}, quote).status == 200


@pytest.mark.parametrize("quote", [False, True])
def test_a_blend_with_no_room_names_video_a(on_video, quote):
    def blend(a: float, b: float, plan: str = "pro") -> SimpleNamespace:
        ids = on_video.video(a, plan), on_video.video(b, plan)
        return on_video.post(
            "/v1/videos/blends", {"video_a": ids[0], "video_b": {"id": ids[1]}, "seconds": "1"}, quote, plan
        )

    plan = blend(15, 10)
    assert (plan.status, plan.error["code"], plan.error["param"]) == (403, "duration_exceeds_plan", "video_a")
    assert "the two videos are already 25 s" in plan.error["message"]
    assert "Trim them to 19 s or less together" in plan.error["message"]
    assert "--end 19" not in plan.error["message"]  # two clips: no one cut of one file is the fix
    model = blend(40, 40, "studio")
    assert (model.status, model.error["code"], model.error["param"]) == (400, "invalid_request", "video_a")
    assert blend(10, 9).status == 200  # the fix it gives: 19 s together


def test_a_source_sent_as_video_still_names_video(on_video):
    r = on_video.post("/v1/videos/extensions", {"video": {"id": on_video.video(30)}, "seconds": "1"})
    assert (r.status, r.error["param"]) == (403, "video")


def test_what_may_be_added_is_whole_steps_that_are_accepted(api):
    """New footage comes in steps of 4 frames (0.5 s at 8 fps): a 19.25 s upload was told 'add at
    most 0.75 s', which is made as 1 s (20.25 s) and refused again."""
    r = api("/v1/videos/extensions", 19.25, seconds="1")
    assert (r.status, r.error["param"]) == (403, "seconds")
    assert r.error["message"] == "pro allows up to 20 s; the result would be 20.25 s: add at most 0.5 s"
    assert api("/v1/videos/extensions", 19.25, seconds="0.5").status == 200  # the fix it gives


def test_a_loop_is_offered_whole_steps_too(on_video):
    clip = on_video.video(19.25)
    r = on_video.post(f"/v1/videos/{clip}/loop", {"seconds": "1"})
    assert (r.status, r.error["param"]) == (403, "seconds") and r.error["message"].endswith(
        "add at most 0.5 s"
    )
    assert on_video.post(f"/v1/videos/{clip}/loop", {"seconds": "0.5"}).status == 200


def test_room_for_less_than_a_step_names_the_video(api):
    """19.875 s leaves 0.125 s, one frame and no step: 'add at most 0.125 s' could not be made."""
    r = api("/v1/videos/extensions", 19.875, seconds="1")
    assert (r.status, r.error["code"], r.error["param"]) == (403, "duration_exceeds_plan", "video")
    assert "the video is already 19.875 s: no extension fits" in r.error["message"]
    assert "Trim it to 19 s or less" in r.error["message"] and "add at most" not in r.error["message"]
    assert api("/v1/videos/extensions", 19, seconds="1").status == 200  # the fix it gives


@pytest.mark.parametrize(
    ("clip", "seconds"),
    [
        (19.25, "1"),
        (19.375, "1"),
        (19.625, "1"),
        (19.875, "1"),
        (17.625, "2.5"),
        (18.125, "2.5"),
        (19.125, "3"),
    ],
)
def test_every_suggested_length_is_accepted_when_sent_back(api, clip, seconds):
    r = api("/v1/videos/extensions", clip, seconds=seconds)
    assert r.status == 403
    if r.error["param"] == "seconds":
        fix = re.search(r"add at most ([0-9.]+) s", r.error["message"]).group(1)
        assert api("/v1/videos/extensions", clip, seconds=fix).status == 200
    else:
        assert r.error["param"] == "video"
        keep = float(re.search(r"--end ([0-9.]+)", r.error["message"]).group(1))
        assert api("/v1/videos/extensions", keep, seconds=seconds).status == 200


def test_over_the_models_limit_and_the_plans_lower_one_the_plans_advice_is_answered(api):
    """pro makes 20 s, the model 60 s: 2 s extended by 59 s was told the model's 'add at most 58 s',
    and 58 s was then refused by the plan ('add at most 18 s'). Status and code are the plan's."""
    r = api("/v1/videos/extensions", 2, seconds="59")
    assert (r.status, r.error["code"], r.error["param"]) == (403, "duration_exceeds_plan", "seconds")
    assert r.error["message"] == "pro allows up to 20 s; the result would be 61 s: add at most 18 s"
    fix = re.search(r"add at most ([0-9.]+) s", r.error["message"]).group(1)
    assert api("/v1/videos/extensions", 2, seconds=fix).status == 200  # the fix it gives
    plus = api("/v1/videos/extensions", 2, plan="plus", seconds="59")
    assert (plus.status, plus.error["code"]) == (403, "duration_exceeds_plan")
    assert plus.error["message"].startswith(
        "plus allows up to 10 s; the result would be 61 s: add at most 8 s"
    )
    assert api("/v1/videos/extensions", 2, plan="plus", seconds="8").status == 200
    # A source over both: trimmed to what the plan's refusal says, not the model's 59 s.
    video = api("/v1/videos/extensions", 75, seconds="1")
    assert (video.status, video.error["code"], video.error["param"]) == (
        403,
        "duration_exceeds_plan",
        "video",
    )
    keep = float(re.search(r"--end ([0-9.]+)", video.error["message"]).group(1))
    assert keep == 19 and api("/v1/videos/extensions", keep, seconds="1").status == 200


@pytest.mark.parametrize("quote", [False, True])
def test_a_loop_over_both_limits_is_refused_by_the_plan_with_advice_that_is_accepted(on_video, quote):
    clip = on_video.video(2)
    r = on_video.post(f"/v1/videos/{clip}/loop", {"seconds": "59"}, quote)
    assert (r.status, r.error["code"], r.error["param"]) == (403, "duration_exceeds_plan", "seconds")
    assert r.error["message"].endswith("add at most 18 s")
    assert on_video.post(f"/v1/videos/{clip}/loop", {"seconds": "18"}, quote).status == 200


@pytest.mark.parametrize("quote", [False, True])
@pytest.mark.parametrize("plan", ["pro", "plus"])
def test_a_video_longer_than_the_model_makes_gets_the_plans_advice_when_the_plan_allows_less(
    on_video, plan, quote
):
    """The model makes 60 s, pro 20 s: asking for 61 s was told the model's 'makes at most 60
    seconds', and 60 s was then refused by the plan. The plan's refusal (403) is answered first."""
    r = on_video.post("/v1/videos", {"seconds": "61", "size": "64x112"}, quote, plan)
    assert (r.status, r.error["code"], r.error["param"]) == (403, "duration_exceeds_plan", "seconds")
    fix = re.search(r"ask for ([0-9.]+) s", r.error["message"]).group(1)
    assert r.error["message"].startswith(f"{plan} allows up to {fix} s")
    assert on_video.post("/v1/videos", {"seconds": fix, "size": "64x112"}, quote, plan).status == 200


@pytest.mark.parametrize("quote", [False, True])
def test_a_video_longer_than_the_model_makes_on_a_plan_without_a_limit_is_told_the_longest_it_makes(
    studio_credits, on_video, quote
):
    r = on_video.post("/v1/videos", {"seconds": "61", "size": "64x112"}, quote, "studio")
    assert (r.status, r.error["param"]) == (400, "seconds")
    assert r.error["message"] == "zoetrope-mini makes at most 60 s; ask for 60 s or fewer"
    assert on_video.post("/v1/videos", {"seconds": "60", "size": "64x112"}, quote, "studio").status == 200


@pytest.mark.parametrize("quote", [False, True])
def test_a_storyboard_longer_than_the_model_makes_gets_the_plans_advice(studio_credits, on_video, quote):
    def board(seconds: str, plan: str = "pro") -> SimpleNamespace:
        cards = [{"prompt": "a ball", "start": 0}, {"prompt": "a ball rolls", "start": 2}]
        return on_video.post(
            "/v1/videos/storyboards", {"seconds": seconds, "size": "64x112", "cards": cards}, quote, plan
        )

    r = board("61")
    assert (r.status, r.error["code"], r.error["param"]) == (403, "duration_exceeds_plan", "seconds")
    assert r.error["message"] == "pro allows up to 20 s; ask for 20 s"
    assert board("20").status == 200
    model = board("61", "studio")
    assert (model.status, model.error["param"]) == (400, "seconds")
    fix = re.search(r"seconds <= ([0-9.]+)", model.error["message"]).group(1)
    assert board(fix, "studio").status == 200


@pytest.mark.parametrize(("plan", "added"), [("pro", "18"), ("studio", "58")])
def test_more_new_footage_than_the_model_makes_is_told_what_may_be_added(studio_credits, api, plan, added):
    """An extension of 70 s was told 'makes at most 60 seconds', which a 2 s source cannot take either."""
    r = api("/v1/videos/extensions", 2, plan=plan, seconds="70")
    assert (r.status, r.error["param"]) == ((403 if plan == "pro" else 400), "seconds")
    assert "the result would be 72" in r.error["message"]
    assert re.search(r"add at most ([0-9.]+) s$", r.error["message"]).group(1) == added
    assert api("/v1/videos/extensions", 2, plan=plan, seconds=added).status == 200
