"""A storyboard being built is kept in the browser, per account: a reload, or leaving the page and
coming back, finds its cards, starts and choices; a storyboard the API accepts, and Clear, forget it."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
DEFAULT_PROMPTS = ["A red ball rolls in from the left", "The ball bounces twice"]


def _board(sb) -> dict:
    """The board as the page shows it: each card's prompt and start, and the choices above."""
    return sb.evaluate(
        """() => ({
          cards: [...document.querySelectorAll('#cards li')].map(li => [
            li.querySelector('[name=prompt]').value, li.querySelector('[name=start]').value]),
          choices: ['sb-aspect', 'sb-resolution', 'sb-model', 'sb-seconds']
            .map(id => document.getElementById(id).value),
        })"""
    )


def _prompts(sb) -> list[str]:
    return sb.locator("#cards [name=prompt]").evaluate_all("els => els.map(e => e.value)")


def _priced(sb, pattern: str) -> None:
    sb.wait_for_function(
        "p => new RegExp(p).test(document.getElementById('sb-price').textContent)", arg=pattern
    )


def _build(page, name: str):
    """A three-card board of `name`'s, with a start, a length, an aspect and a resolution changed."""
    page.sign_in(name)
    sb = page.goto("/storyboard")
    sb.select_option("#sb-aspect", "square")
    sb.select_option("#sb-resolution", "480")
    sb.locator("#cards [name=prompt]").nth(0).fill("A kite lifts off the beach")
    sb.click("#sb-add")
    sb.locator("#cards [name=prompt]").nth(2).fill("The kite loops over the waves")
    sb.locator("#cards [name=start]").nth(1).fill("3.5")
    sb.dispatch_event("#cards li:nth-child(2) [name=start]", "change")
    sb.fill("#sb-seconds", "14")
    sb.dispatch_event("#sb-seconds", "change")
    _priced(sb, r"^\d+ credits \(14 s at 480x480\)$")
    return sb


def test_a_storyboard_survives_a_reload_and_leaving_the_page(page, studio):
    sb = _build(page, "ivy")
    built = _board(sb)
    assert built["cards"] == [
        ["A kite lifts off the beach", "0"],
        ["The ball bounces twice", "3.5"],
        ["The kite loops over the waves", "8"],
    ]
    sb.reload()
    assert _board(sb) == built
    _priced(sb, r"^\d+ credits \(14 s at 480x480\)$")  # and priced as it stands

    page.goto("/library")
    sb = page.goto("/storyboard")
    assert _board(sb) == built

    # Words typed into a card are kept before the field loses focus: a reload mid-sentence keeps them.
    sb.locator("#cards [name=prompt]").nth(1).press_sequentially(" and rolls")
    sb.reload()
    assert _prompts(sb)[1] == "The ball bounces twice and rolls"
    page.shot("storyboard-draft-restored")
    assert page.errors == []


def test_a_storyboard_draft_is_the_accounts_own(page, studio):
    sb = _build(page, "hal")
    built = _board(sb)
    sb.click("header form[action='/signout'] button")
    sb.wait_for_url("**/signin")
    page.sign_in("fay")  # another account in the same browser starts from the page's own board
    sb = page.goto("/storyboard")
    assert _prompts(sb) == DEFAULT_PROMPTS
    sb.click("header form[action='/signout'] button")
    sb.wait_for_url("**/signin")
    page.sign_in("hal")
    sb = page.goto("/storyboard")
    assert _board(sb) == built


def test_clear_empties_the_board_and_forgets_the_draft(page, studio):
    sb = _build(page, "ivy")
    asked = []
    sb.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))  # "no": the board stays
    sb.click("#sb-clear")
    assert asked and sb.locator("#cards li").count() == 3
    sb.once("dialog", lambda d: d.accept())
    sb.click("#sb-clear")
    assert sb.locator("#cards li").count() == 0
    sb.reload()
    assert _prompts(sb) == DEFAULT_PROMPTS


def test_a_rendered_storyboard_forgets_its_draft_and_a_refused_one_keeps_it(page, warm_studio):
    sb = _build(page, "ivy")
    built = _board(sb)
    sb.fill("#sb-seconds", "6")  # before the last card's start: refused in the page
    sb.dispatch_event("#sb-seconds", "change")
    sb.click("#sb-render")
    sb.locator("#sb-error").wait_for()
    sb.reload()
    assert _board(sb)["cards"] == built["cards"]  # a refusal loses nothing

    sb.fill("#sb-seconds", "10")
    sb.dispatch_event("#sb-seconds", "change")
    _priced(sb, r"^\d+ credits \(10 s at 480x480\)$")
    sb.click("#sb-render")
    sb.wait_for_selector("#sb-out .tile, #sb-error:not([hidden])")
    assert sb.locator("#sb-error").is_hidden(), sb.locator("#sb-error").inner_text()
    video_id = sb.locator("#sb-out .tile").first.get_attribute("data-id")
    sb.reload()
    assert _prompts(sb) == DEFAULT_PROMPTS
    # The render goes on: a reload mid-render finds its bar, and its Cancel, again.
    tile = sb.locator(f"#sb-out .tile[data-id='{video_id}']")
    tile.locator("[data-cancel]").focus()  # by keyboard: the focus stays on the tile
    sb.keyboard.press("Enter")
    sb.wait_for_selector(f"#sb-out .tile[data-id='{video_id}'][data-status=cancelled]")
    assert tile.evaluate("t => t.contains(document.activeElement)")
    with warm_studio.api("ivy") as api:
        assert api.get(f"/v1/videos/{video_id}").status_code == 404
    # A poll on its way as the job was cancelled is answered 404: the browser logs that, nothing else.
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []


def test_a_storyboard_open_in_two_tabs_shows_the_edits_of_either(page, studio):
    sb = _build(page, "hal")
    other = sb.context.new_page()
    other.goto(studio.url + "/storyboard")
    assert _board(other) == _board(sb)
    sb.locator("#cards [name=prompt]").nth(0).fill("A kite lifts off the dunes")
    other.wait_for_function(
        "() => document.querySelector('#cards [name=prompt]').value === 'A kite lifts off the dunes'"
    )
    # An edit in the other tab builds on that one, not on the board it had loaded.
    other.locator("#cards [name=prompt]").nth(2).fill("The kite lands")
    sb.wait_for_function(
        "() => document.querySelectorAll('#cards [name=prompt]')[2].value === 'The kite lands'"
    )
    sb.reload()
    assert _prompts(sb) == ["A kite lifts off the dunes", "The ball bounces twice", "The kite lands"]
    other.close()
