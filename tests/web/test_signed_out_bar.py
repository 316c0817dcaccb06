"""A running job's bar when the session ends in another tab: it says so, with the link to sign in
again, and goes on once signed in again; the job is not shown as failed (it goes on on the server)."""

from __future__ import annotations

import re

import pytest

from tests.web.studio_jobs import submit_create

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
EMAIL = "signed-out-bar@example.com"
PASSWORD = "a kite on a string"


def test_a_bar_waits_through_a_sign_out_elsewhere_and_goes_on_after_a_sign_in(page, warm_studio):
    p = page.goto("/signup")
    p.fill("input[name=email]", EMAIL)
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url("**/create")
    tile = submit_create(p, "a yellow kite climbs", "10")
    tile.locator("[data-cancel]").wait_for()

    other = p.context.new_page()  # another tab signs out
    other.goto(warm_studio.url + "/account")
    other.click("header form[action='/signout'] button")
    other.wait_for_url("**/signin*")
    link = tile.locator(".note a", has_text="sign in again")
    link.wait_for()
    assert tile.get_attribute("data-status") is None and tile.locator(".error").count() == 0
    assert tile.locator("[role=progressbar]").is_visible() and tile.locator("[data-cancel]").is_visible()

    other.fill("input[name=email]", EMAIL)  # signed in again: the bar takes up where it left off
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url("**/create")
    p.wait_for_function(
        "t => !t.querySelector('.note a') && /Rendering|Queued|Done/.test(t.querySelector('.note').textContent)",
        arg=tile.element_handle(),
    )
    assert tile.get_attribute("data-status") in (None, "completed")
    assert p.locator("#session-ended").count() == 0  # the page's own notice went with it
    assert [e for e in page.errors if not re.search(r"status of (401|404)", e)] == []
    if tile.locator("[data-cancel]").count():
        # Frees the worker for the tests after this one; the page takes the new session's CSRF token.
        tile.locator("[data-cancel]").click()
        p.wait_for_selector("#jobs .tile[data-status=cancelled], #jobs .tile[data-status=completed]")
