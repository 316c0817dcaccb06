"""What a user types that the browser cannot read is refused in the page, naming the field, never
sent as something else."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_seed_the_browser_cannot_read_is_refused_not_made_random(page, studio):
    page.sign_in("fay")
    p = page.page
    creates = []
    p.on(
        "request",
        lambda r: (
            r.method == "POST"
            and r.url.endswith("/v1/videos")
            and "zoetrope-quote" not in r.headers
            and creates.append(r.url)
        ),
    )
    p.fill("textarea[name=prompt]", "a red ball")
    p.locator("input[name=seed]").press_sequentially("1e400")  # over any number: the field reads ""
    p.dispatch_event("input[name=seed]", "change")
    expected = "Seed must be a whole number from 0 up, like 42, or empty for a random one"
    p.wait_for_function("m => document.getElementById('cost').textContent === m", arg=expected)
    # Generate is held by the browser's own check of the field, and sends nothing.
    p.click("#create button[type=submit]")
    assert p.evaluate("() => document.getElementById('create').checkValidity()") is False
    assert creates == [] and p.locator("#jobs .tile").count() == 0
    p.fill("input[name=seed]", "42")  # a seed it reads is priced again
    p.dispatch_event("input[name=seed]", "change")
    p.wait_for_function("() => /^\\d+ credits \\(/.test(document.getElementById('cost').textContent)")
