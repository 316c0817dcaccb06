"""The storyboard page in Chromium against a live server: cards added, removed and emptied, its length
and price within the plan, and a rendered board as long as chosen."""

from __future__ import annotations

import re

import pytest

from tests.web import studio_forms as forms
from zoetrope import media

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
GENERATE_MS = 240_000  # a 2 s clip from tiny random weights on a busy 2-core machine


def test_a_card_added_past_the_end_lengthens_the_storyboard_within_the_plan(page, warm_studio):
    forms.sign_up(page, "adds@example.com")
    sb = page.goto("/storyboard")
    sb.select_option("#sb-aspect", "square")
    sb.select_option("#sb-resolution", "480")
    forms.price(sb, "#sb-price", r"^\d+ credits \(8 s at 480x480\)$")  # cards at 0 s and 4 s
    most = float(sb.locator("#sb-seconds").get_attribute("data-max"))
    sb.click("#sb-add")  # a third card at 8 s: the board grows to hold it
    assert sb.locator("#cards li").nth(2).locator("[name=start]").input_value() == "8"
    assert float(sb.locator("#sb-seconds").input_value()) == min(12, most)
    sb.locator("#cards li").nth(2).locator("[name=prompt]").fill("The ball rolls away")
    sb.dispatch_event("#sb-seconds", "change")
    forms.price(sb, "#sb-price", rf"^\d+ credits \({min(12, most):g} s at 480x480\)$")
    assert sb.locator("#sb-seconds").get_attribute("aria-invalid") == "false"


def test_a_storyboard_lasts_the_length_chosen_and_a_length_before_the_last_card_is_refused(page, warm_studio):
    forms.sign_up(page, "lengths@example.com")
    sb = page.goto("/storyboard")
    sent = forms.sent(sb)
    sb.select_option("#sb-aspect", "square")
    sb.select_option("#sb-resolution", "480")
    forms.price(sb, "#sb-price", r"^\d+ credits \(8 s at 480x480\)$")  # two cards (0 s and 4 s), 8 s

    sb.fill("#sb-seconds", "3")  # before the second card starts
    sb.dispatch_event("#sb-seconds", "change")
    sb.click("#sb-render")
    error = sb.locator("#sb-error")
    error.wait_for()
    assert "Length (3 s)" in error.inner_text() and "last card's start (4 s)" in error.inner_text()
    assert sb.locator("#sb-price").inner_text() == error.inner_text()
    assert sb.locator("#sb-seconds").get_attribute("aria-invalid") == "true"
    assert sb.locator("#sb-out .tile").count() == 0
    assert ("POST", "v1/videos/storyboards", False) not in sent
    assert sb.evaluate("async () => (await Studio.api('GET', '/v1/videos')).data.length") == 0
    page.shot("storyboard-length-refused")

    sb.locator("#cards li").nth(1).locator("[name=start]").fill("1")
    sb.fill("#sb-seconds", "2.5")
    sb.dispatch_event("#sb-seconds", "change")
    forms.price(sb, "#sb-price", r"^\d+ credits \(2.5 s at 480x480\)$")
    sb.click("#sb-render")
    sb.wait_for_selector("#sb-out .tile[data-status]", state="attached", timeout=2 * GENERATE_MS)
    tile = sb.locator("#sb-out .tile").first
    assert tile.get_attribute("data-status") == "completed", tile.inner_text()
    video_id = tile.get_attribute("data-id")
    mp4 = sb.context.request.get(f"{warm_studio.url}/v1/videos/{video_id}/content").body()
    assert media.probe(mp4).duration == 2.5
    page.shot("storyboard-length")
    assert all(re.search(r"status of 4\d\d", e) for e in page.errors), page.errors


def _storyboard(page, name: str = "alice"):
    """The Storyboard page of a pro account (20 s at most), its two default cards priced."""
    page.sign_in(name)
    sb = page.goto("/storyboard")
    sb.select_option("#sb-resolution", "480")
    forms.price(sb, "#sb-price", r"^\d+ credits \(8 s at 854x480\)$")  # cards at 0 s and 4 s
    return sb


def _starts(sb) -> list[str]:
    return sb.locator("#cards [name=start]").evaluate_all("els => els.map(e => e.value)")


def test_a_storyboard_stays_renderable_after_its_first_card_is_removed(page, studio):
    sb = _storyboard(page)
    sb.locator("#cards li").nth(0).locator("[data-remove]").click()
    assert sb.locator("#cards li").count() == 1
    assert sb.locator("#cards [name=prompt]").input_value() == "The ball bounces twice"
    assert _starts(sb) == ["0"]  # the card left takes the first slot: the board starts at 0
    forms.price(sb, "#sb-price", r"^\d+ credits \(8 s at 854x480\)$")  # the API quotes it: renderable

    # Three cards (0, 4, 8 s): removing the middle one keeps the order, and the slots from 0 on.
    sb.click("#sb-add")
    sb.click("#sb-add")
    sb.locator("#cards [name=prompt]").nth(1).fill("The ball rolls away")
    sb.locator("#cards [name=prompt]").nth(2).fill("The ball stops")
    assert _starts(sb) == ["0", "4", "8"]
    sb.locator("#cards li").nth(1).locator("[data-remove]").click()
    assert sb.locator("#cards [name=prompt]").evaluate_all("els => els.map(e => e.value)") == [
        "The ball bounces twice",
        "The ball stops",
    ]
    assert _starts(sb) == ["0", "4"]
    forms.price(sb, "#sb-price", r"^\d+ credits \(12 s at 854x480\)$")
    assert page.errors == []


def test_add_makes_no_storyboard_card_at_or_past_the_plans_longest_video(page, studio):
    sb = _storyboard(page)
    assert sb.locator("#sb-seconds").get_attribute("data-max") == "20"  # pro
    for _ in range(3):
        sb.click("#sb-add")
    assert _starts(sb) == ["0", "4", "8", "12", "16"]
    assert sb.locator("#sb-seconds").input_value() == "20"
    sb.click("#sb-add")  # a card at 20 s could never render within 20 s: none is added, and why is said
    assert _starts(sb) == ["0", "4", "8", "12", "16"]
    error = sb.locator("#sb-error")
    error.wait_for()
    assert error.inner_text() == "the board is at your plan's 20 s; remove a card or shorten one"
    assert sb.locator("#sb-seconds").input_value() == "20"
    page.shot("storyboard-full")

    sb.locator("#cards li").nth(4).locator("[data-remove]").click()  # room again: the message goes
    error.wait_for(state="hidden")
    sb.click("#sb-add")
    assert _starts(sb) == ["0", "4", "8", "12", "16"]
    assert page.errors == []


def test_an_emptied_storyboard_start_is_an_error_not_zero(page, studio):
    sb = _storyboard(page)
    sent = forms.sent(sb)
    start = sb.locator("#cards li").nth(1).locator("[name=start]")
    start.fill("")
    start.dispatch_event("change")
    message = "Shot 2 needs a start second"
    sb.wait_for_function("m => document.getElementById('sb-price').textContent === m", arg=message)
    assert start.get_attribute("aria-invalid") == "true"
    sb.click("#sb-render")
    error = sb.locator("#sb-error")
    error.wait_for()
    assert error.inner_text() == message
    assert sb.locator("#sb-out .tile").count() == 0
    assert not [r for r in sent if r[1] == "v1/videos/storyboards" and not r[2]]

    start.fill("4")
    start.dispatch_event("change")
    forms.price(sb, "#sb-price", r"^\d+ credits \(8 s at 854x480\)$")
    assert start.get_attribute("aria-invalid") == "false"
    assert page.errors == []
