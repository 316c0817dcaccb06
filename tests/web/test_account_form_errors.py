"""The account page's forms in Chromium: a refusal is shown beside the form it is about, where the
page scrolls back to, not at the top of the page out of sight."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(300)


def _in_view(locator) -> bool:
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )


def test_a_refused_password_is_explained_beside_the_password_form(page, studio):
    page.sign_in("jan")
    p = page.goto("/account")
    p.set_viewport_size({"width": 1280, "height": 640})
    section = p.locator("#password")
    section.locator("input[name=password]").fill("short")
    section.locator("button").click()
    p.wait_for_url("**/account?*#password")
    error = section.locator("[role=alert]")
    assert error.inner_text() == "the password must have at least 8 characters"
    assert _in_view(error) and _in_view(section.locator("input[name=password]"))
    assert p.locator("main > [role=alert]").count() == 0  # said once, where it belongs

    section.locator("input[name=email]").fill("bob@example.com")  # another account's email
    section.locator("input[name=password]").fill("long enough password")
    section.locator("button").click()
    p.wait_for_url("**/account?*#password")
    assert section.locator("[role=alert]").inner_text() == "this email belongs to another account"
    assert section.locator("input[name=email]").input_value() == "bob@example.com"
    assert _in_view(section.locator("[role=alert]"))
    assert page.errors == []
