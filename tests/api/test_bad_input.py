"""Malformed and borderline requests against the live server: each is a 4xx in OpenAI's shape that
names the field the client sent, and leaves no job, charge or idempotency record behind."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.config import get_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs.models import Job

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def db(server):
    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    yield engine
    engine.dispose()


def _jobs(db) -> int:
    with transaction(db) as s:
        return s.scalar(select(func.count()).select_from(Job))


def _post(server, path: str, key: str = "alice", headers: dict | None = None, **kw) -> httpx.Response:
    auth = {"authorization": f"Bearer {server.keys[key]}"}
    return httpx.post(f"{server.base_url}{path}", headers={**auth, **(headers or {})}, timeout=60, **kw)


def _error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    return error


def test_json_nested_too_deep_is_a_400_and_the_connection_lives_on(server, db):
    before = _jobs(db)
    with httpx.Client(headers={"authorization": f"Bearer {server.keys['alice']}"}, timeout=60) as http:
        deep = '{"prompt": "a red ball", "seed": ' + "[" * 5000 + "]" * 5000 + "}"
        r = http.post(f"{server.base_url}/videos", content=deep, headers={"content-type": "application/json"})
        assert _error(r, 400)["message"] == "request body is not valid JSON"
        assert http.get(f"{server.base_url}/models").status_code == 200  # the same keep-alive connection
    assert _jobs(db) == before


@pytest.mark.parametrize("path", ["/videos", "/images/generations"])
def test_a_lone_surrogate_in_the_prompt_is_a_400_naming_prompt(server, db, path):
    before = _jobs(db)
    body = '{"prompt": "a red circle \\ud800 moves", "size": "64x64", "seconds": "1"}'
    r = _post(server, path, content=body, headers={"content-type": "application/json"})
    error = _error(r, 400)
    assert error["param"] == "prompt" and "surrogate" in error["message"], error
    assert _jobs(db) == before


def test_images_n_zero_is_refused_and_seed_zero_is_kept(server, db):
    before = _jobs(db)
    assert (
        _error(_post(server, "/images/generations", json={"prompt": "a star", "n": 0}), 400)["param"] == "n"
    )
    assert _jobs(db) == before
    r = _post(
        server, "/images/generations", json={"prompt": "a yellow star", "n": 2, "seed": 0, "size": "64x64"}
    )
    assert r.status_code == 200 and len(r.json()["data"]) == 2, r.text
    with transaction(db) as s:
        seeds = [j.params.get("seed") for j in s.scalars(select(Job).order_by(Job.seq.desc()).limit(2))]
    assert sorted(seeds) == [0, 1]


def test_images_answer_the_gpt_image_fields_the_client_sends(client, server, db):
    import base64

    image = client.images.generate(prompt="a yellow star", size="auto", output_format="png", quality="high")
    png = base64.b64decode(image.data[0].b64_json)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and image.output_format == "png" and image.size == "1024x1024"
    before = _jobs(db)
    error = _error(_post(server, "/images/generations", json={"prompt": "a star", "output_format": "jpeg"}), 400)
    assert error["param"] == "output_format" and "png" in error["message"]
    assert _jobs(db) == before


def test_images_refused_partway_queue_none_and_cost_nothing(server, db):
    """A plus account runs one job at a time: the second of n=2 images is refused (429), and the
    first is not left queued or charged: the refusal costs nothing."""
    with transaction(db, immediate=True) as s:
        account = open_account(s, "carol", plan="plus")
        server.keys["carol"] = create_key(s, account.id)[1]
    r = _post(
        server, "/images/generations", key="carol", json={"prompt": "a yellow star", "n": 2, "size": "64x64"}
    )
    assert _error(r, 429)["code"] == "concurrency_limit_exceeded"
    with transaction(db) as s:
        live = s.scalar(select(func.count()).where(Job.account_id == account.id, Job.deleted_at.is_(None)))
        assert live == 0
        assert ledger.balance(s, account.id) == get_config().plans["plus"].monthly_credits  # all of it
    retry = _post(
        server, "/images/generations", key="carol", json={"prompt": "a yellow star", "size": "64x64"}
    )
    assert retry.status_code == 200, retry.text


def test_an_image_request_refused_partway_keeps_the_image_an_earlier_request_paid_for(server, db):
    """The same Idempotency-Key, first for one image, then for two (another body: 409): the
    refusal queues and charges nothing and never touches the first request's paid image."""
    with transaction(db, immediate=True) as s:
        account = open_account(s, "erin", plan="plus")  # this month's credits granted, then all but one spent
        server.keys["erin"] = create_key(s, account.id)[1]
        ledger.grant(s, account.id, 1 - ledger.balance(s, account.id))  # one credit: one image
    body, headers = {"prompt": "a yellow star", "size": "64x64"}, {"idempotency-key": "erin-stars"}
    first = _post(server, "/images/generations", key="erin", headers=headers, json=body)
    assert first.status_code == 200, first.text
    with transaction(db) as s:
        (paid,) = s.scalars(select(Job).where(Job.account_id == account.id)).all()
    refused = _post(server, "/images/generations", key="erin", headers=headers, json={**body, "n": 2})
    assert _error(refused, 409)["code"] == "idempotency_key_reused"
    with transaction(db) as s:
        kept = s.scalar(select(Job).where(Job.id == paid.id))
        assert kept.deleted_at is None and kept.status == "completed"
        assert ledger.balance(s, account.id) == 0  # paid once, refunded nothing, charged nothing more
    again = _post(server, "/images/generations", key="erin", headers=headers, json=body)
    assert again.status_code == 200 and again.json()["data"] == first.json()["data"]


def test_replaying_an_idempotency_key_after_delete_is_a_409_not_a_ghost(client, server):
    headers = {"authorization": f"Bearer {server.keys['alice']}", "idempotency-key": "replay-after-delete"}
    body = {"prompt": "a green cube", "size": "64x64", "seconds": "1"}
    first = httpx.post(f"{server.base_url}/videos", json=body, headers=headers, timeout=60)
    assert first.status_code == 200, first.text
    client.videos.delete(first.json()["id"])
    again = httpx.post(f"{server.base_url}/videos", json=body, headers=headers, timeout=60)
    error = _error(again, 409)
    assert error["code"] == "idempotent_video_deleted" and first.json()["id"] in error["message"], error


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/videos/extensions", {"prompt": "on", "video": {"id": "video_nope"}}, "video"),
        ("/videos/extensions", {"prompt": "on", "video": "video_nope"}, "video"),  # the id alone, as blends take it
        ("/videos/extensions", {"prompt": "on", "video": {"id": "video_\u0000x"}}, "video"),
        ("/videos/edits", {"prompt": "on", "video": {"id": "video_nope"}}, "video"),
        ("/videos/video_nope/remix", {"prompt": "on"}, "video_id"),
        ("/videos/video_nope/loop", {"prompt": "on"}, "video_id"),
        ("/videos/blends", {"prompt": "on", "video_a": "video_nope", "video_b": "video_nope2"}, "video_a"),
        ("/videos/storyboards", {"cards": [{"start": 0}], "seconds": "2"}, "cards[0].prompt"),
        ("/videos/storyboards", {"cards": [1, 2], "seconds": "2"}, "cards[0]"),
        ("/videos", {"prompt": "a cat", "input_reference": "https://example.com/cat.png"}, "input_reference"),
        ("/videos", {"prompt": "a cat", "size": "64x64", "seconds": "0.0001"}, "seconds"),
        ("/videos", {"prompt": "a cat", "size": "113x64", "seconds": "1"}, "size"),  # H.264 pads odd sides
        ("/moderations", {"input": 5}, "input"),
        ("/videos", {"prompt": "a cat", "size": "64x64", "seconds": "1", "seed": 10**20}, "seed"),
        ("/videos", {"prompt": "a cat", "size": "64x64", "seconds": "1", "seed": -1}, "seed"),
        ("/videos", {"prompt": "a cat\u0000", "size": "64x64", "seconds": "1"}, "prompt"),  # PostgreSQL text has no NUL
        ("/videos", {"prompt": True, "size": "64x64", "seconds": "1"}, "prompt"),
        ("/videos", {"prompt": "a cat", "size": "64x64", "seconds": True}, "seconds"),
        ("/videos/storyboards", {"cards": [{"prompt": "a", "start": True}], "seconds": "2"}, "cards[0].start"),
        ("/videos/storyboards", {"cards": [{"prompt": 5, "start": 0}], "seconds": "2"}, "cards[0].prompt"),
        ("/videos/storyboards", {"cards": [{"prompt": "a", "start": 0, "imgae": "x"}], "seconds": "2"},
         "cards[0].imgae"),
    ],
)
def test_errors_name_the_field_the_client_sent(server, db, path, body, param):
    before = _jobs(db)
    status = 404 if "nope" in str(body) or "nope" in path else 400
    assert _error(_post(server, path, json=body), status)["param"] == param
    assert _jobs(db) == before


def test_a_source_sent_both_as_an_id_and_as_a_file_is_refused(server, db):
    import numpy as np

    from zoetrope.media import encode_mp4

    clip = encode_mp4(np.zeros((8, 64, 64, 3), np.uint8))
    before = _jobs(db)
    r = _post(server, "/videos/extensions", data={"prompt": "on", "seconds": "1", "video[id]": "video_abc"},
              files={"video": ("clip.mp4", clip, "video/mp4")})
    assert _error(r, 400)["param"] == "video"
    assert _jobs(db) == before


def test_blend_into_a_missing_video_names_video_b(client, server):
    a = client.videos.create_and_poll(prompt="a red ball", size="64x64", seconds="2", poll_interval_ms=100)
    r = _post(server, "/videos/blends", json={"prompt": "on", "video_a": a.id, "video_b": "video_nope"})
    assert _error(r, 404)["param"] == "video_b"
    r = _post(server, f"/videos/{a.id}/recut", json={"prompt": "on", "start": 0, "end": 1, "extend": -1})
    assert _error(r, 400)["param"] == "extend"
    # Over the model's 60 s and alice's plan's lower 20 s: the plan's refusal, whose advice it accepts.
    r = _post(server, f"/videos/{a.id}/recut", json={"prompt": "on", "start": 0, "end": 1, "extend": 100})
    assert _error(r, 403)["code"] == "duration_exceeds_plan"


def test_range_headers_follow_rfc_9110(client, server):
    video = client.videos.create_and_poll(
        prompt="a red ball", size="64x64", seconds="1", poll_interval_ms=100
    )
    url = f"{server.base_url}/videos/{video.id}/content"
    auth = {"authorization": f"Bearer {server.keys['alice']}"}
    whole = httpx.get(url, headers=auth, timeout=60)
    assert whole.status_code == 200 and len(whole.content) > 100
    for ignored in ("bytes=abc", "bytes=5-2", "bytes=1", "items=0-1", "bytes=0-1,5-6"):
        r = httpx.get(url, headers={**auth, "range": ignored}, timeout=60)
        assert r.status_code == 200 and r.content == whole.content, ignored  # invalid: ignored
    r = httpx.get(url, headers={**auth, "range": "bytes=0-9"}, timeout=60)
    assert r.status_code == 206 and r.content == whole.content[:10]
    r = httpx.get(url, headers={**auth, "range": f"bytes={len(whole.content)}-"}, timeout=60)
    assert _error(r, 416)["param"] == "range"
    assert r.headers["content-range"] == f"bytes */{len(whole.content)}"
    head = httpx.head(url, headers=auth, timeout=60)  # a player asking for the size before it reads
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(whole.content)) and head.headers["content-type"] == "video/mp4"
    head = httpx.head(url, headers={**auth, "range": "bytes=10-"}, timeout=60)
    assert head.status_code == 206 and head.headers["content-length"] == str(len(whole.content) - 10)
    assert httpx.head(url, headers={"authorization": "Bearer zk-wrong"}, timeout=60).status_code == 401
    # A resumed download names the copy it has (If-Range): the same file resumes, any other gets it whole.
    etag = whole.headers["etag"]
    r = httpx.get(url, headers={**auth, "range": "bytes=10-", "if-range": etag}, timeout=60)
    assert r.status_code == 206 and r.content == whole.content[10:]
    for other in ('"another-file"', "Wed, 21 Oct 2015 07:28:00 GMT"):
        r = httpx.get(url, headers={**auth, "range": "bytes=10-", "if-range": other}, timeout=60)
        assert r.status_code == 200 and r.content == whole.content, other


def test_moderations_reads_a_bad_body_as_bad_json(server):
    r = _post(server, "/moderations", content=b"{not json", headers={"content-type": "application/json"})
    error = _error(r, 400)
    assert error["message"] == "request body is not valid JSON" and error["param"] is None, error


def test_an_image_cannot_be_remixed_or_extended_as_if_it_were_a_video(server, db):
    r = _post(server, "/images/generations", json={"prompt": "a blue star", "size": "64x64"})
    assert r.status_code == 200, r.text
    with transaction(db) as s:
        image_id = s.scalar(select(Job.id).where(Job.task == "t2i").order_by(Job.seq.desc()).limit(1))
    before = _jobs(db)
    for path, body, param in (
        (f"/videos/{image_id}/remix", {"prompt": "more"}, "video_id"),
        ("/videos/edits", {"prompt": "bluer", "video": {"id": image_id}}, "video"),
        ("/videos/extensions", {"prompt": "on", "video": {"id": image_id}}, "video"),
    ):
        error = _error(_post(server, path, json=body), 400)
        assert error["param"] == param and "input_reference" in error["message"], (path, error)
    assert _jobs(db) == before


def test_prompts_over_the_limit_are_refused_everywhere_but_joined_cards_are_cut(server, db):
    before = _jobs(db)
    long = "a red ball " * 400  # 4,400 characters
    for path, body, param in (
        ("/videos", {"prompt": long, "size": "64x64", "seconds": "1"}, "prompt"),
        ("/videos/storyboards", {"prompt": long, "seconds": "1", "cards": [{"prompt": "a ball", "start": 0}]},
         "prompt"),
        ("/videos/storyboards", {"seconds": "1", "cards": [{"prompt": long, "start": 0}]}, "cards[0].prompt"),
    ):
        error = _error(_post(server, path, json=body), 400)
        assert error["param"] == param and "the limit is 4,000" in error["message"], (path, error)
    assert _jobs(db) == before
    cards = [{"prompt": "a red ball rolls " * 150, "start": 0}, {"prompt": "a blue cube falls " * 150, "start": 1}]
    r = _post(server, "/videos/storyboards", json={"seconds": "2", "size": "64x64", "cards": cards})
    assert r.status_code == 200 and len(r.json()["prompt"]) == 4000, r.text  # two 2,500-character cards
