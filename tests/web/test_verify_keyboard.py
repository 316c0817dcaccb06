"""Verify by keyboard alone: the drop zone shows when its (invisible) file field has the focus."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(300)


def test_the_drop_zone_shows_the_keyboard_focus(page, studio):
    page.sign_in("alice")
    p = page.goto("/verify")
    zone = p.locator("#dropzone")
    outline = "e => getComputedStyle(e).outlineStyle"
    assert zone.evaluate(outline) == "none"
    for _ in range(30):  # Tab from the top of the page to the file field
        p.keyboard.press("Tab")
        if p.evaluate("() => document.activeElement.id") == "verify-file":
            break
    assert p.evaluate("() => document.activeElement.id") == "verify-file"
    assert p.locator("#verify-file").evaluate("e => getComputedStyle(e).opacity") == "0"  # not seen itself
    assert zone.evaluate(outline) != "none"
    page.shot("verify-keyboard-focus", full_page=False)
    p.keyboard.press("Tab")  # and leaves it when the focus moves on
    assert zone.evaluate(outline) == "none"
    assert page.errors == []
