"""What a create asks for is checked at submit, before anything is stored or charged: an image to
animate is image to video for the plan and the model, a `lane` is the client's to choose within its
plan, and an `Idempotency-Key` longer than the stored key can be is a 400. In process (no worker):
the app's routes over SQLite, a stub model that cannot animate an image beside the bundled one."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI
from sqlalchemy import func, select

from zoetrope import media
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import create_key
from zoetrope.access.models import Charge
from zoetrope.access.pricing import Charge as Cost
from zoetrope.api.app import create_app
from zoetrope.api.deps import Services
from zoetrope.api.routes import images
from zoetrope.backends.base import no_progress
from zoetrope.backends.bundled import BundledBackend
from zoetrope.backends.registry import Registry
from zoetrope.config import get_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch
from zoetrope.jobs.models import IdempotencyKey, Job
from zoetrope.jobs.render import generation_request, render
from zoetrope.jobs.request import part_key
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the openai client on Sora

KEY_LIMIT = 255  # the stored key's column, VARCHAR(255)
STUB = '\n[[models]]\nname = "stub-fast"\nbackend = "bench.stub_backend:StubFastBackend"\n'
PORTRAIT = "270x480"  # 9:16 within bing-free's 480p


class Api:
    def __init__(self, tmp_path, monkeypatch) -> None:
        from importlib import resources

        config = tmp_path / "zoetrope.toml"
        config.write_text(resources.files("zoetrope.config").joinpath("defaults.toml").read_text() + STUB)
        monkeypatch.setenv("ZOETROPE_CONFIG_FILE", str(config))
        monkeypatch.setattr(
            images, "WAIT_SECONDS", 5.0
        )  # no worker here: an image queued is not waited on long
        get_settings.cache_clear()
        get_config.cache_clear()
        from zoetrope.jobs.migrate import upgrade

        self.engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        upgrade(self.engine)
        self.blob_dir = tmp_path / "blobs"
        self.blobs = BlobStore(str(self.blob_dir))
        self.app = create_app(
            Services(self.engine, Registry(get_config()), self.blobs, dispatch.DispatchPolicy())
        )
        self.http = TestClient(self.app)
        self.accounts: dict[str, str] = {}
        self.tokens: dict[str, str] = {}

    def account(self, name: str, plan: str) -> str:
        with transaction(self.engine, immediate=True) as s:
            account = open_account(s, name, plan=plan)
            self.accounts[name], self.tokens[name] = account.id, create_key(s, account.id)[1]
        return account.id

    def post(self, who: str, path: str, headers: dict | None = None, **kw):
        return self.http.post(
            f"/v1{path}", headers={"Authorization": f"Bearer {self.tokens[who]}", **(headers or {})}, **kw
        )

    def stored(self, who: str) -> tuple[int, int, int]:
        """Jobs, charges and idempotency records of the account."""
        account_id = self.accounts[who]
        with transaction(self.engine) as s:
            return (
                s.scalar(select(func.count()).select_from(Job).where(Job.account_id == account_id)),
                s.scalar(select(func.count()).select_from(Charge).where(Charge.account_id == account_id)),
                s.scalar(
                    select(func.count())
                    .select_from(IdempotencyKey)
                    .where(IdempotencyKey.account_id == account_id)
                ),
            )

    def job(self, video_id: str) -> tuple[Job, Charge]:
        with transaction(self.engine) as s:
            job = s.scalar(select(Job).where(Job.id == video_id))
            charge = s.scalar(select(Charge).where(Charge.job_id == video_id))
            s.expunge_all()
        return job, charge


@pytest.fixture()
def api(tmp_path, monkeypatch):
    api = Api(tmp_path, monkeypatch)
    yield api
    api.engine.dispose()


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def _png(width: int = 72, height: int = 128) -> bytes:
    return media.encode_png(np.full((height, width, 3), 90, np.uint8))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-9)))


def _mp4(frames: int = 8) -> bytes:
    return media.encode_mp4(np.full((frames, 112, 64, 3), 90, np.uint8), fps=8)


# An image to animate is image to video, for the plan and for the model.


def test_an_input_reference_on_a_plan_without_image_to_video_is_a_403_and_nothing_is_stored(api):
    api.account("bo", "bing-free")  # tasks: t2v only
    form = {"prompt": "it drifts", "size": PORTRAIT, "seconds": "1"}
    files = {"input_reference": ("still.png", _png(), "image/png")}
    r = api.post("bo", "/videos", data=form, files=files, headers={"Idempotency-Key": "bo-1"})
    error = _error(r, 403)
    assert error["code"] == "task_not_in_plan" and error["param"] == "input_reference", error
    assert "i2v" in error["message"] and "input_reference" in error["message"]
    assert api.stored("bo") == (0, 0, 0)
    assert not [f for f in api.blob_dir.glob("**/*") if f.is_file()]  # the image was not kept either
    quoted = api.post("bo", "/videos", data=form, files=files, headers={"Zoetrope-Quote": "true"})
    assert _error(quoted, 403)["code"] == "task_not_in_plan"
    # Text to video is what the plan has: the same request without the image is made.
    made = api.post("bo", "/videos", data=form)
    assert made.status_code == 200, made.text
    assert api.job(made.json()["id"])[0].task == "t2v"


def test_an_input_reference_to_a_model_that_cannot_animate_it_is_a_400_naming_the_models_that_can(api):
    api.account("al", "pro")
    files = {"input_reference": ("still.png", _png(64, 112), "image/png")}
    r = api.post(
        "al", "/videos", data={"prompt": "it drifts", "model": "stub-fast", "seconds": "1"}, files=files
    )
    error = _error(r, 400)
    assert error["param"] == "input_reference", error
    assert "stub-fast" in error["message"] and "zoetrope-mini" in error["message"], error
    assert api.stored("al") == (0, 0, 0)
    # The stub makes text to video: without the image, it is made.
    assert (
        api.post(
            "al", "/videos", data={"prompt": "it drifts", "model": "stub-fast", "seconds": "1"}
        ).status_code
        == 200
    )


def test_a_key_limited_to_a_model_that_cannot_animate_is_suggested_no_other(api):
    account_id = api.account("cy", "pro")
    with transaction(api.engine, immediate=True) as s:  # a second key, for the stub model only
        api.tokens["cy"] = create_key(s, account_id, allowed_models=["stub-fast"])[1]
    files = {"input_reference": ("still.png", _png(64, 112), "image/png")}
    r = api.post(
        "cy", "/videos", data={"prompt": "it drifts", "model": "stub-fast", "seconds": "1"}, files=files
    )
    error = _error(r, 400)
    assert error["param"] == "input_reference" and "zoetrope-mini" not in error["message"], error
    assert "leave input_reference out" in error["message"], error


def test_an_input_reference_is_image_to_video_from_submit_to_the_worker(api, tiny_weights):
    api.account("al", "pro")  # watermark-free: the still is the video's first frame as it was
    form = {"prompt": "it drifts", "seconds": "1"}
    still = np.zeros((112, 64, 3), np.uint8)
    still[..., 0] = np.linspace(30, 220, 64, dtype=np.uint8)[None, :]
    still[..., 2] = np.linspace(200, 40, 112, dtype=np.uint8)[:, None]
    files = {"input_reference": ("still.png", media.encode_png(still), "image/png")}
    r = api.post("al", "/videos", data=form, files=files, headers={"Idempotency-Key": "al-still"})
    assert r.status_code == 200, r.text
    job, charge = api.job(r.json()["id"])
    assert (job.task, charge.task, job.size) == ("i2v", "i2v", "64x112")
    request = generation_request(job, api.blobs, fps=8)  # what the worker asks the model for
    assert request.task == "i2v" and request.source.shape == (1, 112, 64, 3)
    job.attempts = 1  # as the worker's claim leaves it
    outputs, _ = render(job, BundledBackend(weights=tiny_weights), api.blobs, no_progress)
    frames = media.read_frames(api.blobs.get(outputs["video"])).frames
    assert frames.shape == (8, 112, 64, 3)
    assert _psnr(frames[0], still) > 30  # the image animated, not ignored
    again = api.post("al", "/videos", data=form, files=files, headers={"Idempotency-Key": "al-still"})
    assert again.status_code == 200 and again.json()["id"] == job.id  # the same key and body: the same video
    assert api.stored("al") == (1, 1, 1)


# The client chooses its lane within its plan.


def test_a_lane_asked_for_runs_there_and_is_charged_as_that_lanes(api):
    account_id = api.account("bo", "bing-free")  # relaxed by default; fast: 10 free, then 100 points each
    body = {"prompt": "a red ball", "size": PORTRAIT, "seconds": "1"}

    def quote(lane: str) -> dict:
        r = api.post("bo", "/videos", json={**body, "lane": lane}, headers={"Zoetrope-Quote": "true"})
        assert r.status_code == 200, r.text
        return {k: r.json()[k] for k in ("credits", "points", "lane")}

    # The quote is this plan's price in that lane: free while free fast generations are left.
    assert quote("fast") == {"credits": 0, "points": 0, "lane": "fast"}
    assert quote("relaxed") == {"credits": 0, "points": 0, "lane": "relaxed"}
    fast = api.post("bo", "/videos", json={**body, "lane": "fast"})
    assert fast.status_code == 200, fast.text
    job, charge = api.job(fast.json()["id"])
    assert (job.lane, charge.lane, charge.fast_free, charge.points) == ("fast", "fast", 1, 0)
    with transaction(api.engine, immediate=True) as s:
        ledger.capture(s, job.id)  # done: the plan's one slot is free again
        old = RequestSummary(model="zoetrope-mini", width=270, height=480, seconds=1)
        ledger.reserve(s, account_id, None, "video_earlier", old, "fast", Cost(fast_free_used=9))
        ledger.capture(s, "video_earlier")  # the free ten used
    assert quote("fast") == {"credits": 0, "points": 100, "lane": "fast"}  # what the create then needs
    error = _error(api.post("bo", "/videos", json={**body, "lane": "fast"}), 402)
    assert (error["code"], error["param"]) == ("insufficient_points", "lane"), error
    relaxed = api.post("bo", "/videos", json={**body, "lane": "relaxed"})
    assert relaxed.status_code == 200, relaxed.text
    job, charge = api.job(relaxed.json()["id"])
    assert (job.lane, charge.lane, charge.fast_free, charge.points, charge.credits) == (
        "relaxed",
        "relaxed",
        0,
        0,
        0,
    )


def test_a_lane_the_plan_lacks_is_a_403_and_one_that_is_no_lane_a_400(api):
    api.account("pat", "plus")  # relaxed only
    form = {"prompt": "a red ball", "size": "64x112", "seconds": "1", "lane": "fast"}
    error = _error(api.post("pat", "/videos", data=form), 403)  # multipart, as the openai client sends
    assert (error["code"], error["param"]) == ("lane_not_in_plan", "lane"), error
    quoted = api.post(
        "pat",
        "/images/generations",
        json={"prompt": "a star", "size": "64x64", "lane": "fast"},
        headers={"Zoetrope-Quote": "true"},
    )
    assert _error(quoted, 403)["code"] == "lane_not_in_plan"
    for lane in ("turbo", "FAST", 1):
        error = _error(api.post("pat", "/videos", json={**form, "lane": lane}), 400)
        assert error["param"] == "lane" and "'fast' or 'relaxed'" in error["message"], error
    assert api.stored("pat") == (0, 0, 0)


def test_every_create_takes_a_lane_and_the_openai_client_sends_it_as_extra_body(api):
    api.account("al", "pro")  # fast by default, or relaxed
    upload = {"video": ("clip.mp4", _mp4(), "video/mp4")}
    extended = api.post(
        "al", "/videos/extensions", data={"prompt": "on", "seconds": "1", "lane": "relaxed"}, files=upload
    )
    assert extended.status_code == 200, extended.text
    assert api.job(extended.json()["id"])[0].lane == "relaxed"
    edited = api.post("al", "/videos/edits", data={"prompt": "at night", "lane": "relaxed"}, files=upload)
    assert edited.status_code == 200, edited.text
    assert api.job(edited.json()["id"])[1].lane == "relaxed"
    client = OpenAI(
        base_url="http://testserver/v1", api_key=api.tokens["al"], http_client=api.http, max_retries=0
    )
    plain = client.videos.create(prompt="a red ball", size="64x112", seconds="4")
    chosen = client.videos.create(
        prompt="a red ball", size="64x112", seconds="4", extra_body={"lane": "relaxed"}
    )
    assert (api.job(plain.id)[0].lane, api.job(chosen.id)[0].lane) == ("fast", "relaxed")
    spec = api.app.openapi()
    for path in (
        "/v1/videos",
        "/v1/videos/extensions",
        "/v1/videos/edits",
        "/v1/videos/{video_id}/remix",
        "/v1/videos/{video_id}/loop",
        "/v1/images/generations",
    ):
        for content in spec["paths"][path]["post"]["requestBody"]["content"].values():
            assert content["schema"]["properties"]["lane"]["enum"] == ["fast", "relaxed"], path


# An Idempotency-Key is at most 255 characters, on every create.

CREATES = [
    ("/videos", {"prompt": "a red ball", "size": "64x112", "seconds": "1"}),
    ("/videos/extensions", {"prompt": "on", "video": {"id": "video_nope"}}),
    ("/videos/edits", {"prompt": "at night", "video": {"id": "video_nope"}}),
    ("/videos/video_nope/remix", {"prompt": "at night"}),
    ("/videos/video_nope/loop", {"prompt": "round"}),
    ("/videos/blends", {"prompt": "into", "video_a": "video_nope", "video_b": "video_nope2"}),
    ("/videos/storyboards", {"cards": [{"prompt": "a", "start": 0}], "seconds": "1", "size": "64x112"}),
    ("/videos/video_nope/recut", {"prompt": "cut", "start": 0, "end": 1}),
    ("/images/generations", {"prompt": "a star", "size": "64x64"}),
]


@pytest.mark.parametrize(("path", "body"), CREATES, ids=[p for p, _ in CREATES])
@pytest.mark.parametrize("quote", [False, True], ids=["create", "quote"])
def test_an_idempotency_key_too_long_or_empty_is_a_400_naming_the_header_on_every_create(
    api, path, body, quote
):
    api.account("al", "pro")
    extra = {"Zoetrope-Quote": "true"} if quote else {}
    too_long = api.post("al", path, json=body, headers={"Idempotency-Key": "k" * 256, **extra})
    error = _error(too_long, 400)
    assert error["param"] == "Idempotency-Key" and "255" in error["message"], error
    empty = api.post("al", path, json=body, headers={"Idempotency-Key": "", **extra})
    assert _error(empty, 400)["param"] == "Idempotency-Key"
    assert api.stored("al") == (0, 0, 0)


def test_an_idempotency_key_of_255_characters_is_kept(api):
    api.account("al", "pro")
    key = "k" * KEY_LIMIT
    body = {"prompt": "a red ball", "size": "64x112", "seconds": "1"}
    first = api.post("al", "/videos", json=body, headers={"Idempotency-Key": key})
    again = api.post("al", "/videos", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_each_image_of_a_longest_key_has_a_key_that_fits():
    key = "k" * KEY_LIMIT
    keys = {part_key(key, i) for i in range(4)}
    assert len(keys) == 4 and all(len(k) <= KEY_LIMIT for k in keys)
    assert part_key("short", 1) == "short:1"  # as keys were before


# An image to animate is sent as one `input_reference` file: anything else is refused by name.


def test_a_video_sent_as_input_reference_is_a_400_pointing_at_extensions_and_edits(api):
    api.account("vi", "pro")
    form = {"prompt": "it drifts", "size": "64x112", "seconds": "1"}
    r = api.post("vi", "/videos", data=form, files={"input_reference": ("v.mp4", _mp4(), "video/mp4")})
    error = _error(r, 400)
    assert error["param"] == "input_reference", error
    for said in ("PNG", "JPEG", "WebP", "/v1/videos/extensions", "edits"):
        assert said in error["message"], error
    assert api.stored("vi") == (0, 0, 0)


@pytest.mark.parametrize(
    ("form", "files", "param"),
    [
        ({"input_reference[image_url]": "data:image/png;base64,iVBORw0KGgo="}, None, "input_reference"),
        ({}, {"file": ("still.png", _png(), "image/png")}, "file"),
        ({}, [("input_reference", ("a.png", _png(), "image/png")), ("input_reference", ("b.png", _png(), "image/png"))],
         "input_reference"),
    ],
)
def test_an_image_sent_under_another_form_field_or_twice_is_a_400_naming_it(api, form, files, param):
    api.account("ff", "pro")
    data = {"prompt": "it drifts", "size": "64x112", "seconds": "1", **form}
    error = _error(api.post("ff", "/videos", data=data, files=files), 400)
    assert error["param"] == param, error
    assert api.stored("ff") == (0, 0, 0)


def test_json_input_reference_image_url_and_the_form_field_get_the_same_400(api):
    api.account("js", "pro")
    body = {"prompt": "it drifts", "size": "64x112", "seconds": "1"}
    url = "data:image/png;base64,iVBORw0KGgo="
    as_json = _error(api.post("js", "/videos", json={**body, "input_reference": {"image_url": url}}), 400)
    as_form = _error(api.post("js", "/videos", data={**body, "input_reference[image_url]": url}), 400)
    assert as_form == as_json


def test_with_no_model_sent_the_quote_and_the_video_name_the_same_model(api):
    api.account("dm", "pro")
    form = {"prompt": "a red ball", "size": "64x112", "seconds": "1"}
    quote = api.post("dm", "/videos", json=form, headers={"Zoetrope-Quote": "true"})
    assert quote.status_code == 200, quote.text
    made = api.post("dm", "/videos", json=form)
    assert made.status_code == 200, made.text
    assert made.json()["model"] == quote.json()["model"] == "zoetrope-mini"
    again = api.post("dm", "/videos", json={**form, "model": made.json()["model"]}, headers={"Zoetrope-Quote": "true"})
    assert again.json()["model"] == quote.json()["model"]
