"""The video page's action forms in Chromium: a price that matches the form as it stands on a slow
network, and a blend whose optional transition prompt is left empty."""

from __future__ import annotations

import json
import re

import pytest

from tests.web.studio_jobs import start_clip, wait_finished

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def clips(warm_studio) -> list[str]:
    """Two finished clips of fay's, made through the API."""
    ids = [start_clip(warm_studio, "fay", prompt) for prompt in ("a red ball rolls", "a blue cube spins")]
    return [wait_finished(warm_studio, "fay", video_id) for video_id in ids]


def test_a_slow_answer_for_an_older_choice_does_not_overwrite_the_price(page, clips):
    page.sign_in("fay")
    p = page.page
    held = []  # quotes of the extension's first choice (2 s), answered only once a later one is shown

    def slow(route):
        body = json.loads(route.request.post_data or "{}")
        if route.request.headers.get("zoetrope-quote") == "true" and body.get("seconds") == "2":
            held.append(route)
        else:
            route.continue_()

    p.route("**/v1/videos/extensions", slow)
    page.goto(f"/videos/{clips[0]}")
    box = p.locator("[data-action=extend]")
    box.locator("summary").click()  # opening it asks the price of 2 s
    p.wait_for_function("() => document.querySelector('[data-action=extend] [data-price]') !== null")
    while not held:
        p.wait_for_timeout(100)
    box.locator("select[name=seconds]").select_option("8")
    price = box.locator("[data-price]")
    p.wait_for_function(
        "() => /\\(10 s at/.test(document.querySelector('[data-action=extend] [data-price]').textContent)"
    )
    for route in held:
        route.continue_()
    p.wait_for_timeout(1500)  # the older answer arrives
    assert "(10 s at" in price.inner_text()  # 2 s of video and 8 s added, not the 2 s choice's price
    assert page.errors == []


def test_a_blend_with_its_optional_transition_prompt_left_empty_starts(page, warm_studio, clips):
    page.sign_in("fay")
    p = page.goto(f"/videos/{clips[0]}")
    box = p.locator("[data-action=blend]")
    box.locator("summary").click()
    box.locator("select[name=target]").select_option(clips[1])
    box.locator("input[name=prompt]").fill("")
    box.locator("input[name=prompt]").dispatch_event("change")
    p.wait_for_function(
        "() => /credits? \\(/.test(document.querySelector('[data-action=blend] [data-price]').textContent)"
    )
    box.locator("button.primary").click()
    p.wait_for_selector("[data-action=blend] .out .tile, [data-action=blend] .error:not([hidden])")
    assert box.locator(".error").is_hidden(), box.locator(".error").inner_text()
    tile = box.locator(".out .tile")
    assert tile.locator("[role=progressbar]").count() == 1
    blend = tile.get_attribute("data-id")
    with warm_studio.api("fay") as api:
        api.delete(f"/v1/videos/{blend}")
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []


def _price_of(p, action: str, pattern: str) -> str:
    p.wait_for_function(
        "([a, r]) => new RegExp(r).test(document.querySelector(`[data-action=${a}] [data-price]`).textContent)",
        arg=[action, pattern],
    )
    return p.locator(f"[data-action={action}] [data-price]").inner_text()


def test_a_refused_field_is_named_by_its_label_and_marked(page, clips):
    page.sign_in("fay")
    p = page.goto(f"/videos/{clips[0]}")
    remix = p.locator("[data-action=remix]")
    prompt = remix.locator("textarea[name=prompt]")
    prompt.fill("   ")
    prompt.dispatch_event("change")
    assert _price_of(p, "remix", "^New prompt ") == "New prompt must not be empty"
    assert prompt.get_attribute("aria-invalid") == "true"
    remix.locator("button.primary").click()
    error = remix.locator(".error")
    error.wait_for()
    assert error.inner_text() == "New prompt must not be empty" and remix.locator(".out .tile").count() == 0
    prompt.fill("a green ball rolls")  # typing answers the error at once, before the field is left
    assert error.is_hidden() and prompt.get_attribute("aria-invalid") is None
    _price_of(p, "remix", r"credits? \(")  # and the price is asked again once the typing stops
    assert prompt.get_attribute("aria-invalid") is None

    recut = p.locator("[data-action=recut]")
    recut.locator("summary").click()
    start, end = recut.locator("input[name=start]"), recut.locator("input[name=end]")
    start.evaluate(  # the start handle dragged to the end: nothing left to keep
        "e => { e.value = e.max; e.dispatchEvent(new Event('input', {bubbles: true}));"
        " e.dispatchEvent(new Event('change', {bubbles: true})); }"
    )
    assert _price_of(p, "recut", "^Trim end ").startswith("Trim end (2 s) must come after start (2 s)")
    assert end.get_attribute("aria-invalid") == "true"
    recut.locator("button.primary").click()
    recut.locator(".error").wait_for()
    start.evaluate("e => { e.value = 0.5; e.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert recut.locator(".error").is_hidden() and end.get_attribute("aria-invalid") is None
    assert " s at " in _price_of(p, "recut", r"^(?!…)")
    assert [e for e in page.errors if not re.search(r"status of 400", e)] == []
