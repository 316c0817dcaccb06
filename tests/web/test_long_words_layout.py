"""A prompt holding a word longer than the screen is wide (a URL, text with no spaces) breaks where it
must: the video page keeps its player and its actions in sight, and no page scrolls sideways."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PROMPT = "https://example.org/" + "lighthouse" * 150


@pytest.fixture(scope="module")
def long_worded(warm_studio) -> str:
    with warm_studio.api("alice") as api:
        r = api.post("/v1/videos", json={"prompt": PROMPT, "seconds": "2", "size": "64x64"})
        assert r.status_code == 200, r.text
        video_id = r.json()["id"]
        for _ in range(480):
            if api.get(f"/v1/videos/{video_id}").json()["status"] not in ("queued", "in_progress"):
                break
            time.sleep(0.5)
    return video_id


def _sideways(p) -> int:
    return p.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("width", [1280, 360])
def test_a_prompt_with_a_very_long_word_stays_within_the_screen(page, long_worded, width):
    page.page.set_viewport_size({"width": width, "height": 800})
    page.sign_in("alice")
    p = page.goto(f"/videos/{long_worded}")
    assert p.locator(".prompt").inner_text() == PROMPT  # all of it, broken across lines
    assert _sideways(p) == 0
    for part in (".player", "[data-action=remix] summary"):
        box = p.locator(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
    lib = page.goto("/library")
    assert lib.locator(f".tile[data-id='{long_worded}']").count() == 1
    assert _sideways(lib) == 0
    assert page.errors == []
