"""Jobs for the browser tests: clips made through the API and waited on, and a Create form sent
from the page. Imported as `tests.web.studio_jobs`."""

from __future__ import annotations

import time

GENERATE_MS = 240_000  # a clip from tiny random weights on a busy 2-core machine
RUNNING = ("queued", "in_progress")


def start_clip(studio, name: str, prompt: str, seconds: str = "2") -> str:
    """The id of a 64x64 clip of `name`'s from `prompt`, started through the API."""
    with studio.api(name) as api:
        r = api.post("/v1/videos", json={"prompt": prompt, "seconds": seconds, "size": "64x64"})
        assert r.status_code == 200, r.text
        return r.json()["id"]


def wait_finished(studio, name: str, video_id: str) -> str:
    """`video_id` once its job has left the queue; fails unless it completed."""
    with studio.api(name) as api:
        for _ in range(GENERATE_MS // 500):
            status = api.get(f"/v1/videos/{video_id}").json()["status"]
            if status not in RUNNING:
                break
            time.sleep(0.5)
    assert status == "completed"
    return video_id


def finished_clip(studio, name: str, prompt: str) -> str:
    """The id of a finished 2-second clip of `name`'s from `prompt`, made through the API."""
    return wait_finished(studio, name, start_clip(studio, name, prompt))


def submit_create(p, prompt: str, seconds: str, resolution: str = "480"):
    """Send the Create form on page `p` with `prompt`, `seconds` and `resolution`; the newest job's
    tile."""
    p.fill("textarea[name=prompt]", prompt)
    p.select_option("select[name=seconds]", seconds)
    p.select_option("select[name=resolution]", resolution)
    p.click("#create button[type=submit]")
    return p.locator("#jobs .tile").first
