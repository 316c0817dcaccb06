"""A blend's running bar after a reload: on the page of either clip it joins, with Cancel."""

from __future__ import annotations

import re

import pytest

from tests.web.studio_jobs import RUNNING, finished_clip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_reload_of_the_second_clips_page_brings_back_the_blends_bar(page, warm_studio):
    first = finished_clip(warm_studio, "fay", "a red ball rolls")
    second = finished_clip(warm_studio, "fay", "a blue cube spins")
    with warm_studio.api("fay") as api:
        r = api.post(
            "/v1/videos/blends",
            json={"video_a": first, "video_b": second, "prompt": "red into blue", "seconds": "12"},
        )
        assert r.status_code == 200, r.text
        blend = r.json()["id"]
    page.sign_in("fay")
    try:
        # As a reload of either clip's page mid-render.
        for which, clip in (("first", first), ("second", second)):
            p = page.goto(f"/videos/{clip}")
            with warm_studio.api("fay") as api:
                assert api.get(f"/v1/videos/{blend}").json()["status"] in RUNNING
            tile = p.locator(f"[data-action=blend] .out .tile[data-id='{blend}']")
            assert tile.locator("[role=progressbar]").is_visible(), f"no bar on the {which} clip's page"
            assert tile.locator("[data-cancel]").is_visible()
            assert p.locator(".actions .tile").count() == 1

        tile.locator("[data-cancel]").click()  # Cancel from the second clip's page
        p.wait_for_selector(f"[data-action=blend] .tile[data-id='{blend}'][data-status=cancelled]")
        with warm_studio.api("fay") as api:
            assert api.get(f"/v1/videos/{blend}").status_code == 404
    finally:
        with warm_studio.api("fay") as api:
            api.delete(f"/v1/videos/{blend}")
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []
