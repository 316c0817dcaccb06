"""The official `openai` client drives a real `zoetrope serve` unchanged."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.api.conftest import events

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = "720x1280"  # the client's 9:16 default; the bundled model makes 64x112 (4:7, within 3 %), then resized


def test_create_and_poll_completes_and_downloads_every_variant(client, server):
    video = client.videos.create_and_poll(
        prompt="a red ball bounces", size=SIZE, seconds="2", poll_interval_ms=100
    )
    assert (video.status, video.progress, video.size, video.seconds) == ("completed", 100, SIZE, "2")
    assert video.id.startswith("video_") and video.model == "zoetrope-mini" and video.completed_at
    assert video.model_extra["metadata"] == {
        **video.model_extra["metadata"],
        "generated_size": "64x112",
        "resized": "true",
    }
    mp4 = client.videos.download_content(video.id).read()
    assert mp4[4:8] == b"ftyp"
    thumb = client.videos.download_content(video.id, variant="thumbnail").read()
    assert thumb[:4] == b"RIFF" and thumb[8:12] == b"WEBP"
    sheet = client.videos.download_content(video.id, variant="spritesheet").read()
    assert sheet[:3] == b"\xff\xd8\xff"
    # browsers seek with Range
    r = httpx.get(
        f"{server.base_url}/videos/{video.id}/content",
        headers={"authorization": f"Bearer {server.keys['alice']}", "range": "bytes=4-7"},
    )
    assert (r.status_code, r.content, r.headers["content-range"]) == (206, b"ftyp", f"bytes 4-7/{len(mp4)}")
    # the signed webhook verifies with the client's own unwrap
    deadline = time.monotonic() + 10
    while not events(server, video.id) and time.monotonic() < deadline:
        time.sleep(0.1)
    headers, body = events(server, video.id)[0]
    event = client.webhooks.unwrap(body, headers, secret=server.webhook_secret)
    assert (event.type, event.data.id) == ("video.completed", video.id)


def test_list_paginates_with_cursor(client):
    ids = [client.videos.create(prompt=f"a blue cube {i}", size=SIZE, seconds="1").id for i in range(3)]
    first = client.videos.list(limit=2)
    assert [v.id for v in first.data] == ids[::-1][:2] and first.has_more
    assert first.model_extra["first_id"] == ids[2] and first.last_id == ids[1]
    seen = [v.id for v in client.videos.list(limit=2, order="asc")]
    assert seen[-3:] == ids


def test_remix_and_extend_build_on_a_finished_video(client):
    src = client.videos.create_and_poll(
        prompt="a green ball rolls", size=SIZE, seconds="1", poll_interval_ms=100
    )
    remix = client.videos.remix(src.id, prompt="a yellow ball rolls")
    assert remix.remixed_from_video_id == src.id
    remix = client.videos.poll(remix.id, poll_interval_ms=100)
    assert (remix.status, remix.size, remix.seconds) == ("completed", SIZE, "1")
    # this client version uploads `video` as a file; a reference by id goes as JSON
    mp4 = client.videos.download_content(src.id).read()
    ext = client.videos.extend(prompt="it keeps rolling", seconds="1", video=("src.mp4", mp4, "video/mp4"))
    ext = client.videos.poll(ext.id, poll_interval_ms=100)
    assert (ext.status, ext.seconds) == ("completed", "2")
    by_id = client.post(
        "/videos/extensions",
        cast_to=openai.types.Video,
        body={"prompt": "and on", "seconds": "1", "video": {"id": src.id}},
    )
    by_id = client.videos.poll(by_id.id, poll_interval_ms=100)
    assert (by_id.status, by_id.seconds, by_id.model_extra["metadata"]["frames"]) == (
        "completed",
        "2",
        "16",
    )  # 8 (1 s) + 8 new: 2 s


def test_delete_removes_the_video(client):
    video = client.videos.create(prompt="a purple ball", size=SIZE, seconds="1")
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (video.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_wrong_key_is_401_in_openai_shape(server):
    from openai import OpenAI

    bad = OpenAI(base_url=server.base_url, api_key="zk-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.videos.list()
    assert e.value.body["type"] == "authentication_error" and e.value.code == "invalid_api_key"


def test_another_accounts_video_is_404(client, server):
    from openai import OpenAI

    video = client.videos.create(prompt="alice's ball", size=SIZE, seconds="1")
    bob = OpenAI(base_url=server.base_url, api_key=server.keys["bob"], max_retries=0)
    with pytest.raises(openai.NotFoundError):
        bob.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        bob.videos.download_content(video.id)
    assert video.id not in [v.id for v in bob.videos.list()]


def test_unsupported_aspect_is_400_naming_native_sizes(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.videos.create(prompt="a wide ball", size="1792x1024" if False else "1000x200")
    assert e.value.body["param"] == "size" and "64x112" in e.value.body["message"]
