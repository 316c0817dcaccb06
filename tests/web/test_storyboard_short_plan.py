"""A plan whose longest video is under the Storyboard's usual 8 s opens the page at its own longest,
so the first thing the page says is the plan's real answer, not a length nobody chose."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(300)


def test_the_storyboard_opens_within_the_plans_longest_video(page, studio):
    page.sign_in("gus")  # bing-free: 5 s at most, text to video only
    sb = page.goto("/storyboard")
    length = sb.locator("#sb-seconds")
    assert length.input_value() == "5" and length.get_attribute("max") == "5"
    sb.wait_for_function("() => document.getElementById('sb-price').textContent !== '…'")
    said = sb.inner_text("#sb-price")
    assert "Length" not in said and "storyboard" in said and "upgrade" in said, said
    assert length.get_attribute("aria-invalid") == "false"
    assert [e for e in page.errors if not re.search(r"status of 40\d", e)] == []
