"""Length refusals of tasks on an uploaded video, through the API in process: when the source alone
reaches the limit (the plan's, 403; the model's, 400), the error names `video` and says how to trim
it, never a `seconds` that cannot help; when the source fits, it names `seconds` with how much may
be added. The fix each refusal gives is accepted."""

from __future__ import annotations

import io
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


@pytest.fixture
def api(tmp_path):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.api import Services, create_app
    from zoetrope.backends.registry import get_registry
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.dispatch import DispatchPolicy
    from zoetrope.jobs.migrate import upgrade
    from zoetrope.storage import BlobStore

    engine = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        keys = {plan: create_key(s, create_account(s, plan, plan=plan).id)[1] for plan in ("pro", "plus")}
    app = create_app(Services(engine, get_registry(), BlobStore(str(tmp_path / "blobs")), DispatchPolicy()))
    with TestClient(app) as client:

        def post(path: str, clip_seconds: float, plan: str = "pro", **fields) -> SimpleNamespace:
            r = client.post(
                path,
                headers={"Authorization": f"Bearer {keys[plan]}"},
                data={"prompt": "a ball rolls", **fields},
                files={"video": ("clip.mp4", mp4(clip_seconds), "video/mp4")},
            )
            body = r.json()
            return SimpleNamespace(status=r.status_code, body=body, error=body.get("error") or {})

        yield post
    engine.dispose()


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
    r = api(path, 75, **fields)
    assert r.status == 400 and r.error["code"] == "invalid_request"
    assert r.error["param"] == "video"
    assert "75.0 s" in r.error["message"] and "the limit is 60 s" in r.error["message"]
    assert f"trim it to {keep} s or less" in r.error["message"] and f"--end {keep}" in r.error["message"]
    assert "or fewer" not in r.error["message"] and "ask for" not in r.error["message"]


def test_a_source_that_fits_names_seconds_with_what_may_be_added(api):
    plan = api("/v1/videos/extensions", 15, seconds="10")
    assert (plan.status, plan.error["param"]) == (403, "seconds")
    assert plan.error["message"] == "pro allows up to 20 s; the result would be 25 s: add at most 5 s"
    model = api("/v1/videos/extensions", 59, seconds="2")  # over the model's 60 s before the plan's
    assert (model.status, model.error["param"]) == (400, "seconds")
    assert model.error["message"] == "the result would be 61.0 s; the limit is 60 s: add at most 1 s"
