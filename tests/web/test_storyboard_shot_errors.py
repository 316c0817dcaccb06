"""Storyboard refusals in Chromium name the card as the page does ("Shot 2"), not by the API's
count from 0 (`cards[1]`), and mark the field to fix."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(300)


def _price_is(sb, pattern: str) -> str:
    sb.wait_for_function(
        "p => new RegExp(p).test(document.getElementById('sb-price').textContent)", arg=pattern
    )
    return sb.inner_text("#sb-price")


def test_a_refused_card_is_named_by_its_shot_number_and_its_field_marked(page, studio):
    page.sign_in("alice")
    sb = page.goto("/storyboard")
    sb.on("dialog", lambda d: d.accept())  # Clear asks first
    sb.click("#sb-clear")  # a draft from another test of alice's is not this board
    sb.click("#sb-add")
    sb.click("#sb-add")
    cards = sb.locator("#cards li")
    cards.nth(0).locator("[name=prompt]").fill("a red ball rolls in")
    cards.nth(1).locator("[name=prompt]").fill("it bounces twice")
    cards.nth(1).locator("[name=prompt]").dispatch_event("change")
    _price_is(sb, r"credits \(")

    start = cards.nth(1).locator("[name=start]")
    start.fill("0")  # the API refuses it: the same start as shot 1
    start.dispatch_event("change")
    text = _price_is(sb, "^Shot 2")
    assert "cards[" not in text and "Shot 1" in text, text
    assert start.get_attribute("aria-invalid") == "true"
    sb.click("#sb-render")
    error = sb.locator("#sb-error")
    error.wait_for()
    assert error.inner_text().startswith("Shot 2") and "cards[" not in error.inner_text()
    assert sb.locator("#sb-out .tile").count() == 0

    start.fill("4")
    start.dispatch_event("change")
    _price_is(sb, r"credits \(")
    assert start.get_attribute("aria-invalid") == "false"

    sb.click("#sb-add")  # a third card, its prompt left empty: which card, and what to do
    text = _price_is(sb, "^Shot 3 needs a prompt")
    assert cards.nth(2).locator("[name=prompt]").get_attribute("aria-invalid") == "true"
    assert cards.nth(0).locator("[name=prompt]").get_attribute("aria-invalid") == "false"
    sb.click("#sb-clear")
    assert [e for e in page.errors if not re.search(r"status of 400", e)] == []
