"""The platform around generation, through a live server: moderation before queueing, plans and
credits at submit, the ledger through a job's life, provenance of what the server made."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from sqlalchemy import func, select

from zoetrope.access import ledger
from zoetrope.access.models import Charge, LedgerEntry
from zoetrope.db import make_engine, transaction
from zoetrope.jobs.models import Job
from zoetrope.safety import check_prompt, payload_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = "720x1280"


@pytest.fixture(scope="module")
def db(server):
    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    yield engine
    engine.dispose()


def _client(server, who: str) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=server.keys[who], max_retries=0, timeout=60)


def _entries(db, job_id: str) -> list[tuple[str, int]]:
    with transaction(db) as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.job_id == job_id).order_by(LedgerEntry.id))
        return [(e.kind, e.amount) for e in rows]


def _provenance(server, who: str, data: bytes) -> dict:
    r = httpx.post(
        f"{server.base_url}/content_provenance_checks",
        headers={"authorization": f"Bearer {server.keys[who]}"},
        files={"file": ("clip.mp4", data, "video/mp4")},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_blocked_prompt_is_400_naming_the_category_and_stores_nothing(client, db):
    prompt = "a girl cutting her wrists"
    category = check_prompt(prompt).category
    with transaction(db) as s:
        charges = s.scalar(select(func.count()).select_from(Charge))
    with pytest.raises(openai.BadRequestError) as e:
        client.videos.create(prompt=prompt, size=SIZE, seconds="1")
    assert e.value.code == "moderation_blocked" and category and category in e.value.body["message"]
    with transaction(db) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.prompt == prompt)) == 0
        assert s.scalar(select(func.count()).select_from(Charge)) == charges


def test_plus_key_asking_for_20_seconds_gets_the_plans_403(server):
    with pytest.raises(openai.PermissionDeniedError) as e:
        _client(server, "bob").videos.create(prompt="a red ball rolls", size=SIZE, seconds="20")
    assert e.value.code == "duration_exceeds_plan" and e.value.body["param"] == "seconds"
    assert e.value.body["message"] == "plus allows up to 10 s; ask for 10 s or upgrade to pro"


def test_credits_reserved_at_submit_captured_on_success_released_on_delete(client, db):
    video = client.videos.create(prompt="a teal ball rolls", size=SIZE, seconds="1")
    assert _entries(db, video.id) == [("reserve", -2)]  # 1 s at 720p: 2 credits
    done = client.videos.poll(video.id, poll_interval_ms=100)
    assert done.status == "completed"
    with transaction(db) as s:
        assert ledger.get_charge(s, video.id).status == "captured"
    assert _entries(db, video.id) == [("reserve", -2)]

    gone = client.videos.create(prompt="a grey ball rolls", size=SIZE, seconds="1")
    client.videos.delete(gone.id)
    with transaction(db) as s:
        assert ledger.get_charge(s, gone.id).status == "released"
    assert _entries(db, gone.id) == [("reserve", -2), ("release", 2)]


def test_completed_video_verifies_with_its_record_for_its_owner_only(client, server):
    video = client.videos.create_and_poll(
        prompt="a white ball falls", size=SIZE, seconds="1", poll_interval_ms=100
    )
    mp4 = client.videos.download_content(video.id).read()
    mine = _provenance(server, "alice", mp4)
    assert mine["results"][0]["outcome"] == "detected"
    assert mine["results"][0]["validation_state"] == "trusted"
    assert mine["c2pa"]["generation_id"] == video.id and mine["c2pa"]["actions"] == ["c2pa.created"]
    assert mine["watermark"]["found"] and mine["watermark"]["payload"] == payload_for(video.id).hex()
    assert mine["record"]["id"] == video.id and mine["record"]["prompt"] == "a white ball falls"
    theirs = _provenance(server, "bob", mp4)
    assert theirs["watermark"]["found"] and theirs["record"] is None

    remix = client.videos.poll(
        client.videos.remix(video.id, prompt="a black ball falls").id, poll_interval_ms=100
    )
    edited = _provenance(server, "alice", client.videos.download_content(remix.id).read())
    assert edited["c2pa"]["valid"] and "c2pa.edited" in edited["c2pa"]["actions"]
    assert edited["c2pa"]["parent"] and edited["record"]["remixed_from_video_id"] == video.id


def test_plus_concurrency_cap_is_429_and_its_video_is_watermarked(server, db):
    bob = _client(server, "bob")
    first = bob.videos.create(prompt="a yellow cube spins", size=SIZE, seconds="1")
    with pytest.raises(openai.RateLimitError) as e:
        bob.videos.create(prompt="a second cube spins", size=SIZE, seconds="1")
    assert e.value.code == "concurrency_limit_exceeded" and "plus allows 1 concurrent job" in e.value.message
    done = bob.videos.poll(first.id, poll_interval_ms=100)
    assert done.status == "completed", done.error
    with transaction(db) as s:
        job = s.scalar(select(Job).where(Job.id == first.id))
        assert job.params["watermark"] is True and job.lane == "relaxed"
        assert job.watermark_payload == payload_for(first.id).hex()
    report = _provenance(server, "bob", bob.videos.download_content(first.id).read())
    assert report["watermark"]["found"] and report["record"]["id"] == first.id
    # the slot is free again
    again = bob.videos.create(prompt="a third cube spins", size=SIZE, seconds="1")
    assert bob.videos.poll(again.id, poll_interval_ms=100).status == "completed"


def _children(pid: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError):
            continue
    return found


def test_the_server_reads_new_prompts_in_a_child_process_and_still_refuses_harm(server, client):
    headers = {"authorization": f"Bearer {server.keys['alice']}"}
    deadline = time.monotonic() + 300
    while "zoetrope_prompt_embedder_ready 1.0" not in httpx.get(f"{server.url}/metrics", headers=headers).text:
        assert time.monotonic() < deadline, "the embedder process never became ready"
        time.sleep(0.2)
    assert any("zoetrope.jobs.embedder" in cmd for cmd in _children(server.pid))
    prompt = "a man stabs a stranger in the throat, blood everywhere, close-up"
    with pytest.raises(openai.BadRequestError) as e:
        client.videos.create(prompt=prompt, size=SIZE, seconds="1")
    assert e.value.code == "moderation_blocked" and check_prompt(prompt).category in e.value.body["message"]
    video = client.videos.create(prompt="a tram climbs a hill in light rain, stop motion look", size=SIZE, seconds="1")
    assert video.status in ("queued", "in_progress", "completed")
