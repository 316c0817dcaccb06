"""Running jobs in Chromium: their bars come back after a reload, Cancel stops one and gives its
credits back, and a lost connection leaves the bar waiting instead of failing the job."""

from __future__ import annotations

import re

import pytest

from tests.web.studio_jobs import GENERATE_MS, RUNNING, start_clip, submit_create, wait_finished

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


PROMPT = "a red ball's roll & <bounce>"  # quotes and markup come back as typed, not as markup


def _start(studio, name: str, seconds: str = "2") -> str:
    return start_clip(studio, name, PROMPT, seconds)


def _status(studio, name: str, video_id: str) -> str:
    with studio.api(name) as api:
        return api.get(f"/v1/videos/{video_id}").json()["status"]


def test_a_reload_mid_render_brings_the_running_jobs_bar_back_and_it_plays(page, warm_studio):
    page.sign_in("ivy")
    video_id = _start(warm_studio, "ivy")
    p = page.goto("/create")  # as a reload, or Back to Create, mid-render
    assert _status(warm_studio, "ivy", video_id) in RUNNING  # so it was running when the page was made
    tile = p.locator(f"#jobs .tile[data-id='{video_id}']")
    bar = tile.locator("[role=progressbar]")
    assert bar.get_attribute("aria-valuemin") == "0" and bar.get_attribute("aria-valuemax") == "100"
    assert bar.get_attribute("aria-valuenow") is not None and PROMPT in bar.get_attribute("aria-label")
    assert tile.locator(".caption").inner_text() == PROMPT
    assert tile.locator(".note[aria-live=polite]").count() == 1
    assert p.locator("#jobs-empty").is_hidden()
    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=completed]", timeout=GENERATE_MS)
    assert tile.locator(".note").inner_text() == "Done"  # what the live region says at the end
    p.wait_for_function(
        f"() => {{ const v = document.querySelector(\"#jobs .tile[data-id='{video_id}'] video\");"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }"
    )
    assert page.errors == []


def test_cancel_stops_a_running_job_and_gives_its_credits_back(page, warm_studio):
    page.sign_in("hal")
    with warm_studio.api("hal") as api:
        before = api.get("/v1/usage").json()["credits"]
    p = page.page
    p.fill("textarea[name=prompt]", "a blue square slides left")
    p.select_option("select[name=seconds]", "20")  # long enough to be running at the click
    p.select_option("select[name=resolution]", "480")
    p.wait_for_function("() => /credits/.test(document.getElementById('cost').textContent)")
    p.click("#create button[type=submit]")
    tile = p.locator("#jobs .tile").first
    tile.locator("[data-cancel]").wait_for()
    video_id = tile.get_attribute("data-id")
    assert _status(warm_studio, "hal", video_id) in RUNNING
    tile.locator("[data-cancel]").click()
    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=cancelled]")
    assert tile.locator(".note").inner_text() == "Cancelled" and tile.locator("[data-cancel]").count() == 0
    with warm_studio.api("hal") as api:
        assert api.get(f"/v1/videos/{video_id}").status_code == 404
        assert api.get("/v1/usage").json()["credits"] == before  # the reservation was released
    p.wait_for_function(f"() => document.querySelector('[data-credits]').textContent === '{before}'")
    page.shot("create-cancelled")
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []  # the poll after the delete


def test_a_lost_connection_keeps_the_bars_waiting_and_they_finish_when_it_is_back(page, warm_studio):
    page.sign_in("ivy")
    p = page.page
    lost = lambda route: route.abort("connectionrefused")  # noqa: E731  (the server stopped)

    # The Create page's tile: no error, no failed job, a note that says what happens.
    tile = submit_create(p, "a red ball rolls", "2")
    tile.locator(".bar").wait_for()
    video_id = tile.get_attribute("data-id")
    p.route("**/*", lost)
    tile.locator(".note", has_text="Connection lost").wait_for()
    p.wait_for_timeout(3000)  # several polls go unanswered
    assert tile.get_attribute("data-status") is None and tile.locator(".error").count() == 0
    page.shot("create-connection-lost")
    p.unroute("**/*")
    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=completed]", timeout=GENERATE_MS)

    # The library's tile: the page stays (no reload into the browser's error page) and shows the thumbnail.
    video_id = _start(warm_studio, "ivy")
    lib = page.goto("/library")
    tile = lib.locator(f".tile[data-id='{video_id}']")
    tile.locator("[role=progressbar]").wait_for()
    p.route("**/*", lost)
    tile.locator(".note", has_text="Connection lost").wait_for()
    p.wait_for_timeout(3000)
    assert p.url.endswith("/library") and tile.count() == 1
    p.unroute("**/*")
    p.wait_for_selector(f".tile[data-id='{video_id}'][data-status=completed] img", timeout=GENERATE_MS)
    assert tile.locator(".note").inner_text() == "Done"
    assert [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_a_job_deleted_in_another_tab_says_deleted_in_this_one(page, warm_studio):
    page.sign_in("ivy")
    p = page.page
    tile = submit_create(p, "a green star spins", "20")
    tile.locator("[data-cancel]").wait_for()
    video_id = tile.get_attribute("data-id")

    other = p.context.new_page()  # the second tab: the video's own page, mid-render
    other.goto(f"{warm_studio.url}/videos/{video_id}")
    delete = other.locator("#delete")
    assert delete.inner_text() == "Cancel and delete"
    assert other.locator(".player [role=progressbar]").count() == 1
    other.once("dialog", lambda d: d.accept())
    delete.click()
    other.wait_for_url("**/library")

    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=deleted]")
    assert tile.locator(".note").inner_text() == "Deleted" and tile.locator("[role=alert]").count() == 0
    assert tile.locator("[data-cancel]").count() == 0


def _finished(studio, name: str) -> str:
    """A finished clip of `name`'s, made through the API."""
    return wait_finished(studio, name, _start(studio, name))


def test_a_reload_of_a_video_page_brings_back_the_bars_of_jobs_made_from_it(page, warm_studio):
    source = _finished(warm_studio, "ivy")
    with warm_studio.api("ivy") as api:
        r = api.post(f"/v1/videos/{source}/remix", json={"prompt": "a green ball rolls", "strength": 0.6})
        assert r.status_code == 200, r.text
        remix = r.json()["id"]
        r = api.post(f"/v1/videos/{source}/loop", json={"prompt": PROMPT})
        assert r.status_code == 200, r.text
        loop = r.json()["id"]
    unrelated = _start(warm_studio, "ivy")  # running too, but not made from this video
    page.sign_in("ivy")
    p = page.goto(f"/videos/{source}")  # as a reload, or Back to the video, mid-render
    assert {_status(warm_studio, "ivy", i) for i in (remix, loop)} <= set(RUNNING)
    for action, job in (("remix", remix), ("loop", loop)):
        tile = p.locator(f"[data-action={action}] .out .tile[data-id='{job}']")
        assert tile.locator("[role=progressbar]").is_visible()  # the loop's closed box opens to show it
        assert tile.locator("[data-cancel]").is_visible()
    assert p.locator(".actions .tile").count() == 2 and p.locator(f"[data-id='{unrelated}']").count() == 0

    tile = p.locator(f"[data-action=remix] .out .tile[data-id='{remix}']")
    tile.locator("[data-cancel]").click()
    p.wait_for_selector(f"[data-action=remix] .tile[data-id='{remix}'][data-status=cancelled]")
    with warm_studio.api("ivy") as api:
        assert api.get(f"/v1/videos/{remix}").status_code == 404
        for job in (loop, unrelated):  # free the workers for the tests after this one
            api.delete(f"/v1/videos/{job}")
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []
