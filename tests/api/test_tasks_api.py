"""The creative tasks through a live server: loop, blend, storyboard, recut and backward extension
complete with the length asked for (frames counted in the MP4); bad inputs are a 400 naming the
field, and nothing is stored or charged."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from sqlalchemy import func, select

from zoetrope import media
from zoetrope.access.models import Charge
from zoetrope.db import make_engine, transaction
from zoetrope.jobs.models import Job

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = "64x64"
FPS = 8  # the bundled model's; 1 s is 9 frames (1 + a multiple of 4), an extension of 1 s is 8


@pytest.fixture(scope="module")
def db(server):
    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def alice(server) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=server.keys["alice"], max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def clip(alice) -> str:
    """A finished 1 s (8-frame) video of alice's that the tasks start from."""
    video = alice.videos.create_and_poll(
        prompt="a red ball rolls", size=SIZE, seconds="1", poll_interval_ms=100
    )
    assert video.status == "completed", video.error
    return video.id


def _post(client: OpenAI, path: str, body: dict) -> openai.types.Video:
    return client.post(path, cast_to=openai.types.Video, body=body)


def _frames(client: OpenAI, video: openai.types.Video) -> tuple[str, int]:
    done = client.videos.poll(video.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    mp4 = client.videos.download_content(done.id).read()
    return done.seconds, media.probe(mp4).frames


def test_a_task_on_a_video_uses_that_videos_model_unless_it_names_one(alice, clip):
    made = alice.videos.create(prompt="a green cube", model="zoetrope-mini", size=SIZE, seconds="1")
    made = alice.videos.poll(made.id, poll_interval_ms=100)
    remix = alice.videos.remix(made.id, prompt="a blue cube")
    loop = _post(alice, f"/videos/{made.id}/loop", {"prompt": "round again", "seconds": "1"})
    named = _post(alice, "/videos/extensions", {"prompt": "on", "seconds": "1", "video": {"id": made.id},
                                                "model": "sora-2-pro"})
    plain = alice.videos.create(prompt="a star", size=SIZE, seconds="1")
    for video in (remix, loop, named, plain):  # finished, so the plan's slots are free for the tests after
        alice.videos.poll(video.id, poll_interval_ms=100)
    assert remix.model == loop.model == "zoetrope-mini"  # the source's, not the default alias
    assert named.model == "sora-2-pro" and plain.model == "zoetrope-mini"  # named; no source: the default, by its name


def test_loop_and_backward_extension_add_their_seconds_to_the_clip(alice, clip):
    loop = _post(alice, f"/videos/{clip}/loop", {"prompt": "the ball rolls back", "seconds": "1"})
    back = _post(
        alice,
        "/videos/extensions",
        {"prompt": "the ball rolls in", "seconds": "1", "video": {"id": clip}, "direction": "backward"},
    )
    assert loop.seconds == back.seconds == "2"  # the whole result (the transition alone is charged)
    assert _frames(alice, loop) == ("2", 8 + 8)  # a 1 s clip is 8 frames
    assert _frames(alice, back) == ("2", 8 + 8)


def test_blend_and_recut_complete_with_the_right_length(alice, clip):
    blend = _post(
        alice,
        "/videos/blends",
        {"prompt": "it turns blue", "video_a": clip, "video_b": {"id": clip}, "seconds": "1"},
    )
    # keep frames 0..5 (0.75 s at 8 fps), then 1 s more
    recut = _post(
        alice, f"/videos/{clip}/recut", {"prompt": "it stops", "start": 0, "end": 0.75, "extend": 1}
    )
    assert (blend.seconds, recut.seconds) == ("3", "1.75")
    assert _frames(alice, blend) == ("3", 8 + 8 + 8)
    assert _frames(alice, recut) == ("1.75", 6 + 8)


def test_new_footage_comes_in_whole_steps_and_is_charged_as_made(alice, clip):
    """An extension or loop adds whole steps of 4 frames (0.5 s at 8 fps): the video object, the
    charge and the file all say the rounded length."""
    extension = _post(alice, "/videos/extensions", {"prompt": "on", "seconds": "1.3", "video": {"id": clip}})
    loop = _post(alice, f"/videos/{clip}/loop", {"prompt": "round again", "seconds": "0.125"})
    assert (extension.seconds, loop.seconds) == ("2.5", "1.5")
    assert _frames(alice, extension) == ("2.5", 8 + 12)
    assert _frames(alice, loop) == ("1.5", 8 + 4)


def test_an_uploaded_clip_keeps_its_length_at_the_models_frame_rate(alice):
    """A 2 s clip at 30 fps (60 frames) is read as 2 s at 8 fps (16 frames), not as 60 frames
    played at 8 fps (7.5 s of slow motion)."""
    import numpy as np

    frames = np.zeros((60, 64, 64, 3), np.uint8)
    frames[:, 20:40, :, 0] = 200
    upload = media.encode_mp4(frames, fps=30)
    extension = alice.videos.extend(prompt="it keeps going", seconds="1", video=("clip.mp4", upload, "video/mp4"))
    edit = alice.videos.edit(prompt="a blue band", video=("clip.mp4", upload, "video/mp4"))
    assert (extension.seconds, edit.seconds) == ("3", "2")
    assert _frames(alice, extension) == ("3", 16 + 8)
    assert _frames(alice, edit) == ("2", 16)


def test_kept_footage_carries_the_new_videos_mark_alone(alice, clip):
    from zoetrope.media import read_frames
    from zoetrope.safety import detect_watermark, payload_for

    # All of the clip kept, nothing generated: every frame is the source's, re-marked.
    recut = alice.videos.poll(
        _post(alice, f"/videos/{clip}/recut", {"prompt": "as it was", "start": 0, "end": 1}).id, poll_interval_ms=100
    )
    assert recut.status == "completed", recut.error
    found = detect_watermark(read_frames(alice.videos.download_content(recut.id).read()).frames)
    assert found.found and found.payload == payload_for(recut.id).hex(), found  # not garbled by the source's


def test_storyboard_follows_its_cards(alice):
    cards = [{"prompt": "a red ball rolls", "start": 0}, {"prompt": "a blue square falls", "start": 1}]
    story = _post(alice, "/videos/storyboards", {"cards": cards, "seconds": "2", "size": SIZE})
    assert story.prompt == "a red ball rolls / a blue square falls"
    assert _frames(alice, story) == ("2", 16)


def _counts(db) -> tuple[int, int]:
    with transaction(db) as s:
        return s.scalar(select(func.count()).select_from(Job)), s.scalar(
            select(func.count()).select_from(Charge)
        )


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "param"),
    [
        (
            "alice",
            "/videos/edits",
            {"prompt": "a blue ball", "video": {"id": "{clip}"}, "strength": 1.5},
            400,
            "strength",
        ),
        (
            "alice",
            "/videos/{clip}/remix",
            {"prompt": "a blue ball moves left", "strength_end": -1},
            400,
            "strength_end",
        ),
        (
            "alice",
            "/videos/storyboards",
            {
                "cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a blue cube", "start": 0}],
                "seconds": "2",
            },
            400,
            "cards[1].start",
        ),
        (
            "alice",
            "/videos/storyboards",
            {
                "cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a blue cube", "start": 3}],
                "seconds": "2",
            },
            400,
            "cards[1].start",
        ),
        (
            "alice",
            "/videos/storyboards",
            {
                "cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a skinhead with an 88 tattoo", "start": 1}],
                "seconds": "2",
            },
            400,
            "cards[1].prompt",
        ),
        (
            "alice",
            "/videos/blends",
            {"prompt": "a calm lake", "video_a": "{clip}", "video_b": "{bob}"},
            404,
            "video_b",
        ),
        ("alice", "/videos/{clip}/recut", {"prompt": "a calm lake", "start": 0.5, "end": 0.25}, 400, "end"),
        (
            "alice",
            "/videos/extensions",
            {"prompt": "a calm lake", "video": {"id": "{clip}"}, "direction": "up"},
            400,
            "direction",
        ),
        (  # 0.05 s is frame 0 at 8 fps: the first card would have no frame of its own
            "alice",
            "/videos/storyboards",
            {"cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a blue cube", "start": 0.05}], "seconds": "2"},
            400,
            "cards[1].start",
        ),
        (  # 1.99 s rounds to frame 16, past a 2 s video's last frame (15)
            "alice",
            "/videos/storyboards",
            {"cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a blue cube", "start": 1.99}], "seconds": "2"},
            400,
            "cards[1].start",
        ),
        ("alice", "/videos/{clip}/remix", {"prompt": "a blue ball", "seconds": "4"}, 400, "seconds"),
        ("alice", "/videos/{clip}/recut", {"prompt": "it stops", "start": 0, "end": 1, "extend": "nan"}, 400, "extend"),
    ],
    ids=["strength", "strength-end", "overlapping-cards", "card-past-end", "blocked-card", "other-tenants-clip", "recut-end",
         "direction", "cards-on-one-frame", "card-on-the-last-frame", "remix-seconds", "recut-extend-nan"],
)
def test_bad_input_is_refused_naming_the_field_and_creates_no_job(
    server, alice, clip, db, bob_clip, who, path, body, status, param
):
    client = OpenAI(base_url=server.base_url, api_key=server.keys[who], max_retries=0, timeout=300)
    fill = {"{clip}": clip, "{bob}": bob_clip}
    path = path.replace("{clip}", clip)
    body = {k: _fill(v, fill) for k, v in body.items()}
    before = _counts(db)
    with pytest.raises(openai.APIStatusError) as e:
        _post(client, path, body)
    assert e.value.status_code == status and e.value.body["param"] == param, e.value.body
    assert _counts(db) == before


@pytest.fixture(scope="module")
def bob_clip(server) -> str:
    bob = OpenAI(base_url=server.base_url, api_key=server.keys["bob"], max_retries=0, timeout=300)
    video = bob.videos.create_and_poll(
        prompt="a green cube spins", size=SIZE, seconds="1", poll_interval_ms=100
    )
    assert video.status == "completed", video.error
    return video.id


def _fill(value, fill: dict):
    if isinstance(value, str):
        return fill.get(value, value)
    if isinstance(value, dict):
        return {k: _fill(v, fill) for k, v in value.items()}
    return value


def _psnr(a, b) -> float:
    import numpy as np

    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-9)))


def _extended_by_a_second(client: OpenAI, frames) -> tuple[str, object]:
    """Upload `frames` (8 fps) as a clip, extend it by 1 s with no size asked: the video object's
    size and the finished file's frames."""
    upload = media.encode_mp4(frames, fps=8, crf=0)
    extension = client.videos.extend(prompt="it keeps going", seconds="1", video=("clip.mp4", upload, "video/mp4"))
    done = client.videos.poll(extension.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    return extension.size, media.read_frames(client.videos.download_content(done.id).read()).frames


def test_a_source_of_another_aspect_is_extended_whole_at_its_own_scale(alice):
    """A 4:3 clip with no size asked: the model's nearest aspect (7:4) just large enough to hold it,
    the clip pillarboxed at its own scale, not a 400 about a size the client never sent."""
    import numpy as np

    frames = np.zeros((16, 72, 96, 3), np.uint8)
    frames[:, :, :, 1] = np.linspace(40, 220, 96, dtype=np.uint8)[None, None, :]
    size, out = _extended_by_a_second(alice, frames)
    assert size == "126x72"
    assert out.shape[1:3] == (72, 126)
    assert _psnr(out[0, :, 15:111], frames[0]) > 30  # the clip whole, between two bars of 15 px
    assert out[0, :, :12].max() < 40  # the bar


def test_an_extension_keeps_a_large_source_at_its_own_resolution(alice):
    """Kept footage is the source as it was, not the model's size scaled back up."""
    import numpy as np

    frames = np.zeros((16, 128, 224, 3), np.uint8)
    frames[:] = (np.arange(224) // 3 % 2 * 160 + 40).astype(np.uint8)[None, None, :, None]  # grey 6 px stripes
    size, out = _extended_by_a_second(alice, frames)
    assert size == "224x128"
    assert len(out) == 16 + 8 and _psnr(out[0], frames[0]) > 30  # at 112x64 and back the stripes blur away


def test_an_image_to_animate_sets_the_size_when_none_is_asked(alice):
    import numpy as np

    still = np.full((72, 128, 3), 90, np.uint8)
    video = alice.videos.create(prompt="it drifts", seconds="1", input_reference=("wide.png", media.encode_png(still), "image/png"))
    assert video.size == "128x72"  # its own landscape aspect, not a portrait default


def test_a_video_asked_in_decimals_is_labelled_and_charged_as_the_frames_made(alice, db):
    """1.3 s at 8 fps is 10 frames, 1.25 s: the video object and the charge say what the file holds."""
    video = alice.videos.create(prompt="a red ball rolls", size=SIZE, seconds="1.3")
    assert video.seconds == "1.25"
    assert _frames(alice, video) == ("1.25", 10)
    with transaction(db) as s:
        charge = s.scalar(select(Charge).where(Charge.job_id == video.id))
    assert charge.seconds == 1.25


def test_a_storyboard_asked_in_decimals_lasts_and_is_charged_as_the_frames_made(alice, db):
    board = _post(
        alice,
        "/videos/storyboards",
        {"seconds": "3.05", "size": SIZE, "cards": [{"prompt": "a red ball", "start": 0}, {"prompt": "a blue cube", "start": 1}]},
    )
    assert board.seconds == "3"
    assert _frames(alice, board) == ("3", 24)
    with transaction(db) as s:
        assert s.scalar(select(Charge).where(Charge.job_id == board.id)).seconds == 3


def test_a_quote_prices_a_task_as_its_create_charges_it_and_queues_nothing(alice, clip, db):
    """`Zoetrope-Quote: true` on any create answers with its price (the studio shows it before the
    click): the same credits, seconds and size the create then has."""
    quote_header = {"Zoetrope-Quote": "true"}
    body = {"prompt": "on", "seconds": "1.3", "video": {"id": clip}}
    with transaction(db) as s:
        jobs_before = s.scalar(select(func.count()).select_from(Job))
    quote = alice.post("/videos/extensions", cast_to=object, body=body, options={"headers": quote_header})
    with transaction(db) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == jobs_before  # nothing queued or held
    extension = _post(alice, "/videos/extensions", body)
    with transaction(db) as s:
        charged = s.scalar(select(Charge).where(Charge.job_id == extension.id))
    assert quote["object"] == "video.quote"
    assert (quote["seconds"], quote["size"]) == (extension.seconds, extension.size) == ("2.5", SIZE)
    assert quote["credits"] == charged.credits
    with pytest.raises(openai.PermissionDeniedError) as refused:  # a refusal is the create's own
        alice.post("/videos/extensions", cast_to=object, body={**body, "seconds": "30"}, options={"headers": quote_header})
    assert refused.value.body["code"] == "duration_exceeds_plan"  # pro makes 20 s at most
