"""What a create is charged for and what it makes when the client leaves things out. Prices are
credits per generated second: a task that keeps source footage (an extension, a loop, a blend, a
recut) is charged, and counted against the day's quota, for its new footage alone; the quote says
the same. With no size, the default's aspect at the largest size the plan allows, or where the model
does not make that aspect, the model's own size: the video object says what was made."""

from __future__ import annotations

import pytest
from openai import OpenAI

from tests.api.inprocess import InProcess
from zoetrope.access.accounts import update_account
from zoetrope.db import transaction

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the openai client on Sora


@pytest.fixture
def api(tmp_path, monkeypatch):
    api = InProcess(tmp_path, monkeypatch)
    yield api
    api.engine.dispose()


# A 2 s 64x64 clip (480p and under: 1 credit a second). (path, body, the video's seconds, the
# seconds generated, credits).
TASKS = [
    ("/videos/extensions", {"video": {"id": "{clip}"}, "seconds": "0.5"}, "2.5", 0.5, 1),
    ("/videos/extensions", {"video": {"id": "{clip}"}, "seconds": "1", "direction": "backward"}, "3", 1, 1),
    ("/videos/{clip}/loop", {"seconds": "1.5"}, "3.5", 1.5, 2),
    ("/videos/blends", {"video_a": "{clip}", "video_b": "{clip}", "seconds": "1"}, "5", 1, 1),
    ("/videos/{clip}/recut", {"start": 0, "end": 1, "extend": 1}, "2", 1, 1),
    ("/videos/{clip}/recut", {"start": 0, "end": 2}, "2", 0, 0),  # a cut alone generates nothing
    ("/videos/{clip}/remix", {}, "2", 2, 2),  # every frame redrawn
    ("/videos/edits", {"video": {"id": "{clip}"}}, "2", 2, 2),
    ("/videos", {"size": "64x64", "seconds": "2"}, "2", 2, 2),
]


def _fill(value, clip: str):
    if isinstance(value, dict):
        return {k: _fill(v, clip) for k, v in value.items()}
    return value.replace("{clip}", clip) if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("path", "body", "seconds", "generated", "credits"),
    TASKS,
    ids=["extension", "backward", "loop", "blend", "recut", "cut", "remix", "edit", "video"],
)
def test_a_task_is_charged_for_the_footage_it_generates_as_quoted(
    api, path, body, seconds, generated, credits
):
    clip = api.video(2)
    path, body = path.replace("{clip}", clip), {"prompt": "a ball rolls on", **_fill(body, clip)}
    quote = api.post(path, json=body, quote=True)
    assert quote.status_code == 200, quote.text
    made = api.post(path, json=body)
    assert made.status_code == 200, made.text
    charge = api.charge(made.json()["id"])
    assert made.json()["seconds"] == quote.json()["seconds"] == seconds  # the whole result, as the file
    assert charge.seconds == generated  # what usage counts
    assert charge.credits == quote.json()["credits"] == credits


def test_a_days_quota_counts_the_new_footage_of_an_extension(api):
    """A 2 s clip extended by 0.5 s under a quota of 1 s a day: 0.5 s is generated."""
    with transaction(api.engine, immediate=True) as s:
        update_account(s, api.accounts["pro"], quota={"seconds_per_day": 1})
    clip = api.video(2)
    body = {"prompt": "a ball rolls on", "video": {"id": clip}, "seconds": "0.5"}
    first = api.post("/videos/extensions", json=body)
    assert first.status_code == 200, first.text
    second = api.post("/videos/extensions", json=body)
    assert second.status_code == 200, second.text
    third = api.post("/videos/extensions", json=body)
    assert third.status_code == 429 and "1 generated seconds per day" in third.json()["error"]["message"]


# With no size: the default's aspect, as large as the plan and the model allow.


def test_an_image_with_no_size_is_the_largest_square_the_plan_allows(api):
    for plan, size in (("plus", "720x720"), ("pro", "1024x1024")):
        client = OpenAI(
            base_url="http://testserver/v1", api_key=api.tokens[plan], http_client=api.http, max_retries=0
        )
        quote = client.post(
            "/images/generations",
            cast_to=object,
            body={"prompt": "a star"},
            options={"headers": {"Zoetrope-Quote": "true"}},
        )
        assert quote["size"] == size, (plan, quote)
        auto = api.post("/images/generations", plan, json={"prompt": "a star", "size": "auto"}, quote=True)
        assert auto.json()["size"] == size, auto.text


def test_a_video_with_no_size_on_a_480p_plan_is_made_at_480p_and_says_so(api):
    client = OpenAI(
        base_url="http://testserver/v1", api_key=api.tokens["bing-free"], http_client=api.http, max_retries=0
    )
    video = client.videos.create(prompt="a red ball bounces", seconds="2")
    assert video.size == "480x854", video  # 9:16, the plan's 480p
    assert api.charge(video.id) is not None
    pro = api.post("/videos", json={"prompt": "a red ball", "seconds": "2"}, quote=True)
    assert pro.json()["size"] == "720x1280", pro.text  # the default where the plan allows it


def test_a_model_without_the_default_aspect_makes_its_own_size_when_none_is_asked(api):
    video = api.post(
        "/videos", json={"prompt": "a red ball bounces", "seconds": "1", "model": "zoetrope-wide"}
    )
    assert video.status_code == 200, video.text
    assert video.json()["size"] == "112x64", video.text
    image = api.post("/images/generations", json={"prompt": "a star", "model": "zoetrope-wide"}, quote=True)
    assert image.status_code == 200 and image.json()["size"] == "112x64", image.text
