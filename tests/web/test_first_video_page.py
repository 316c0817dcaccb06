"""The page of an account's first video: its prices read as a person would say them, and Blend,
which needs a second video, says so rather than asking the API about a video that is not there."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PASSWORD = "correct horse battery"


def _first_video(page) -> str:
    """A new account's one finished video (1 s at 64x64), made through the page's own API calls."""
    p = page.goto("/signup")
    p.fill("input[name=email]", "first-video@example.com")
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url("**/create")
    return p.evaluate(
        """async () => {
          const v = await Studio.api('POST', '/v1/videos', {prompt: 'a blue cube spins', seconds: '1', size: '64x64'});
          for (;;) {
            const now = await Studio.api('GET', `/v1/videos/${v.id}`);
            if (now.status === 'completed') return v.id;
            if (now.status === 'failed') throw new Error(JSON.stringify(now.error));
            await new Promise(r => setTimeout(r, 200));
          }
        }"""
    )


def test_a_first_videos_blend_says_it_needs_a_second_and_one_credit_is_singular(page, warm_studio):
    video_id = _first_video(page)
    quotes = []
    page.page.on("request", lambda r: "zoetrope-quote" in r.headers and quotes.append(r.url))
    v = page.goto(f"/videos/{video_id}")
    v.wait_for_function(
        "() => /^1 credit \\(1 s at 64x64\\)$/.test(document.querySelector('[data-action=remix] [data-price]').textContent)"
    )
    v.click("[data-action=blend] summary")
    v.wait_for_function(
        "m => document.querySelector('[data-action=blend] [data-price]').textContent === m",
        arg="Blend needs a second finished video: make one first",
    )
    assert not [u for u in quotes if u.endswith("/v1/videos/blends")]
    assert v.locator("[data-action=blend] button").is_disabled()
    assert page.errors == []
