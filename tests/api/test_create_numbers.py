"""Numbers in a create, as a client writes them: only ASCII decimal notation is a number, a huge one
is refused as too long (naming the field, with advice that is accepted when sent back) rather than
breaking the server, and an images seed is checked against what each image takes. A quote refuses
what its create refuses; a refusal stores and charges nothing."""

from __future__ import annotations

import pytest
from openai import BadRequestError, OpenAI

from tests.api.inprocess import InProcess
from zoetrope.backends.checks import MAX_SEED

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the openai client on Sora


@pytest.fixture
def api(tmp_path, monkeypatch):
    api = InProcess(tmp_path, monkeypatch)
    yield api
    api.engine.dispose()


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def _both(api: InProcess, path: str, body: dict, plan: str = "pro") -> tuple[int, dict]:
    """The create's and the quote's answers, which must be the same refusal; nothing stored."""
    before = api.stored(plan)
    create, quote = api.post(path, plan, json=body), api.post(path, plan, json=body, quote=True)
    assert create.status_code == quote.status_code and 400 <= create.status_code < 500, (
        create.text,
        quote.text,
    )
    assert create.json()["error"]["param"] == quote.json()["error"]["param"], (create.text, quote.text)
    assert api.stored(plan) == before
    return create.status_code, create.json()["error"]


# A number too large to be frames (1e308 s is inf frames) is a refusal naming its field.


@pytest.mark.parametrize("plan", ["pro", "studio"])  # the plan's limit (20 s) under the model's, or none
@pytest.mark.parametrize("huge", ["1e308", "1e300"])
def test_a_huge_extend_of_a_recut_names_extend_with_an_extension_that_fits(api, plan, huge):
    clip = api.video(2, plan)
    body = {"prompt": "a", "start": "0", "end": "1", "extend": huge}
    status, error = _both(api, f"/videos/{clip}/recut", body, plan)
    assert error["param"] == "extend", error
    advice = {"pro": "extend at most 19 s", "studio": "add at most 59 s"}[plan]  # 1 s kept, steps of 0.5 s
    assert status == (403 if plan == "pro" else 400) and advice in error["message"], error
    fix = {**body, "extend": advice.split()[-2]}
    assert api.post(f"/videos/{clip}/recut", plan, json=fix, quote=True).status_code == 200, "the advice fits"


@pytest.mark.parametrize("plan", ["pro", "studio"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/videos", {"prompt": "a", "size": "64x64"}),
        ("/videos/extensions", {"prompt": "a", "video": {"id": "{clip}"}}),
        ("/videos/extensions", {"prompt": "a", "video": {"id": "{clip}"}, "direction": "backward"}),
        ("/videos/{clip}/loop", {"prompt": "a"}),
        ("/videos/blends", {"prompt": "a", "video_a": "{clip}", "video_b": "{clip}"}),
        ("/videos/storyboards", {"cards": [{"prompt": "a", "start": 0}], "size": "64x64"}),
        ("/videos/{clip}/remix", {"prompt": "a"}),
        ("/videos/edits", {"prompt": "a", "video": {"id": "{clip}"}}),
    ],
    ids=["video", "extension", "backward", "loop", "blend", "storyboard", "remix", "edit"],
)
def test_huge_seconds_are_refused_naming_seconds_on_every_create(api, plan, path, body):
    clip = api.video(2, plan)
    path = path.replace("{clip}", clip)
    body = {k: (v.replace("{clip}", clip) if isinstance(v, str) else v) for k, v in body.items()}
    if "video" in body:
        body["video"] = {"id": clip}
    for huge in ("1e308", "1e300", "1e20"):
        _, error = _both(api, path, {**body, "seconds": huge}, plan)
        assert error["param"] == "seconds" and len(error["message"]) < 300, error  # not 309 digits


@pytest.mark.parametrize("plan", ["pro", "studio"])
def test_a_huge_extension_of_a_clip_with_no_room_names_the_video(api, plan):
    """The source alone leaves no room: what to trim it to is reckoned from the footage asked for."""
    limit = {"pro": 20, "studio": 60}[plan]
    clip = api.video(limit - 0.25, plan)  # two frames of room: no step of four
    _, error = _both(
        api, "/videos/extensions", {"prompt": "a", "video": {"id": clip}, "seconds": "1e308"}, plan
    )
    assert error["param"] == "video" and "no extension fits" in error["message"], error


# Only ASCII decimal notation is a number: float() and int() read other scripts' digits too.

NOT_NUMBERS = ["١٢", "４", "1_0", " 4", "4 ", "inf", "NaN", "0x10", "²"]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_numbers_in_other_notations_are_refused_naming_the_field(api, text):
    clip = api.video(2)
    before = api.stored()
    cases = [
        ("/videos", {"prompt": "a", "size": "64x64", "seconds": text}, "seconds"),
        ("/videos", {"prompt": "a", "size": "64x64", "seconds": "1", "seed": text}, "seed"),
        ("/videos/extensions", {"prompt": "a", "video": {"id": clip}, "seconds": text}, "seconds"),
        (f"/videos/{clip}/loop", {"prompt": "a", "seconds": text}, "seconds"),
        (f"/videos/{clip}/recut", {"prompt": "a", "start": text, "end": "1"}, "start"),
        (f"/videos/{clip}/recut", {"prompt": "a", "start": "0", "end": text}, "end"),
        (f"/videos/{clip}/recut", {"prompt": "a", "start": "0", "end": "1", "extend": text}, "extend"),
        (f"/videos/{clip}/remix", {"prompt": "a", "strength": text}, "strength"),
        (f"/videos/{clip}/remix", {"prompt": "a", "strength_end": text}, "strength_end"),
        (
            "/videos/storyboards",
            {"cards": [{"prompt": "a", "start": text}], "seconds": "2"},
            "cards[0].start",
        ),
        ("/videos/storyboards", {"cards": [{"prompt": "a", "start": 0}], "seconds": text}, "seconds"),
        ("/images/generations", {"prompt": "a", "size": "64x64", "n": text}, "n"),
        ("/images/generations", {"prompt": "a", "size": "64x64", "seed": text}, "seed"),
    ]
    for path, body, param in cases:
        for form in (False, True):  # as JSON, and as the multipart form the openai client sends
            sent = {"data": {k: v for k, v in body.items() if k != "cards"}} if form else {"json": body}
            if form and ("cards" in body or "video" in body):
                continue  # nested fields are JSON's
            error = _error(api.post(path, **sent), 400)
            assert error["param"] == param, (path, body, error)
            assert "ASCII" in error["message"], error
    assert api.stored() == before


@pytest.mark.parametrize("size", ["６４x６４", "٦٤x٦٤", "+64x64", "64x 64"])
def test_a_size_in_other_digits_is_refused_naming_size(api, size):
    assert (
        _error(api.post("/videos", json={"prompt": "a", "size": size, "seconds": "1"}), 400)["param"]
        == "size"
    )
    assert api.stored() == (0, 0)


def test_numbers_in_ascii_notation_are_read_as_before(api):
    clip = api.video(2)
    for path, body in [
        ("/videos", {"prompt": "a", "size": "64x64", "seconds": "1.5", "seed": "+7"}),
        ("/videos", {"prompt": "a", "size": "64x64", "seconds": 2, "seed": 7}),
        ("/videos/extensions", {"prompt": "a", "video": {"id": clip}, "seconds": ".5"}),
        (f"/videos/{clip}/recut", {"prompt": "a", "start": "0", "end": "1.0", "extend": "5e-1"}),
        (f"/videos/{clip}/remix", {"prompt": "a", "strength": "0.25", "strength_end": 1}),
        (
            "/videos/storyboards",
            {"cards": [{"prompt": "a", "start": "0"}, {"prompt": "b", "start": "1"}], "seconds": "2"},
        ),
    ]:
        r = api.post(path, json=body, quote=True)
        assert r.status_code == 200, (path, r.text)


# Seeds: image i of n takes seed + i, so the seed's range is the generators' less n - 1.


def test_an_images_seed_too_large_for_n_images_quotes_the_callers_value_and_the_range(api):
    for quote in (False, True):
        r = api.post("/images/generations", json={"prompt": "a dot", "n": 2, "seed": MAX_SEED}, quote=quote)
        error = _error(r, 400)
        assert error["param"] == "seed", error
        assert str(MAX_SEED) in error["message"] and str(MAX_SEED + 1) not in error["message"], error
        assert f"between 0 and {MAX_SEED - 1}" in error["message"], error
    assert api.stored() == (0, 0)
    fits = api.post("/images/generations", json={"prompt": "a dot", "n": 2, "seed": MAX_SEED - 1}, quote=True)
    assert fits.status_code == 200, fits.text


@pytest.mark.parametrize("seed", [10**23, -1])
def test_an_images_quote_refuses_the_seed_its_create_refuses(api, seed):
    for n in (1, 3):
        create = api.post("/images/generations", json={"prompt": "a dot", "n": n, "seed": seed})
        quote = api.post("/images/generations", json={"prompt": "a dot", "n": n, "seed": seed}, quote=True)
        assert _error(create, 400)["param"] == _error(quote, 400)["param"] == "seed"
        assert str(seed) in quote.json()["error"]["message"]
    assert api.stored() == (0, 0)


# Images come back whole: a client asking for a stream is told so, before anything is charged.


def test_an_images_stream_is_a_400_naming_stream_and_charges_nothing(api):
    client = OpenAI(
        base_url="http://testserver/v1", api_key=api.tokens["pro"], http_client=api.http, max_retries=0
    )
    with pytest.raises(BadRequestError) as refused:
        client.images.generate(prompt="a small red dot", size="64x64", stream=True)
    assert refused.value.body["param"] == "stream", refused.value.body
    with pytest.raises(BadRequestError) as refused:
        client.images.generate(prompt="a small red dot", size="64x64", stream=True, partial_images=2)
    assert refused.value.body["param"] == "stream", refused.value.body
    for body, param in [
        ({"stream": "true"}, "stream"),
        ({"partial_images": 2}, "partial_images"),
    ]:
        for quote in (False, True):
            r = api.post(
                "/images/generations", json={"prompt": "a dot", "size": "64x64", **body}, quote=quote
            )
            assert _error(r, 400)["param"] == param
    assert api.stored() == (0, 0)
    for off in ({"stream": False}, {"stream": "false", "partial_images": 0}):
        r = api.post("/images/generations", json={"prompt": "a dot", "size": "64x64", **off}, quote=True)
        assert r.status_code == 200, r.text
