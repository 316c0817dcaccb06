"""The Create form in Chromium: what was typed survives Back and a reload, and a seed is sent as typed."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(600)
MAX_SEED = "9223372036854775807"  # 2^63 - 1, the API's largest


def test_back_to_create_and_a_reload_find_the_form_as_typed(page, studio):
    page.sign_in("alice")
    p = page.page
    prompt = "a slow dolly shot of a lighthouse at dusk, waves 🌊 breaking"
    p.fill("textarea[name=prompt]", prompt)
    p.select_option("select[name=seconds]", "8")
    p.select_option("select[name=aspect]", "square")
    p.fill("input[name=seed]", "77")
    p.select_option("select[name=n]", "2")
    p.click("nav a[href='/library']")
    p.wait_for_url("**/library")
    p.go_back()
    p.wait_for_url("**/create")
    for _ in range(2):  # Back, then a reload
        assert p.input_value("textarea[name=prompt]") == prompt
        assert p.input_value("select[name=seconds]") == "8"
        assert p.input_value("select[name=aspect]") == "square"
        assert p.input_value("input[name=seed]") == "77"
        assert p.input_value("select[name=n]") == "2"
        p.wait_for_function("() => /2 × 8 s at 1080x1080/.test(document.getElementById('cost').textContent)")
        p.reload()

    p.check("input[name=kind][value=image]", force=True)  # the radio is styled: its input is hidden
    p.reload()
    assert p.is_checked("input[name=kind][value=image]") and p.is_disabled("select[name=seconds]")

    p.click("header form[action='/signout'] button")  # the next person at this browser finds none of it
    p.wait_for_url("**/signin")
    page.sign_in("alice")
    assert p.input_value("textarea[name=prompt]") == "" and p.input_value("input[name=seed]") == ""
    assert page.errors == []


def test_a_seed_past_what_a_javascript_number_holds_is_sent_as_typed(page, warm_studio):
    page.sign_in("alice")
    p = page.page
    p.fill("textarea[name=prompt]", "a red ball rolls")
    p.select_option("select[name=seconds]", "2")
    p.select_option("select[name=resolution]", "480")
    p.fill("input[name=seed]", MAX_SEED)  # the largest seed the API takes: priced, not refused
    p.dispatch_event("input[name=seed]", "change")
    p.wait_for_function("() => /credits? \\(2 s at/.test(document.getElementById('cost').textContent)")
    seed = "9007199254740993"  # 2^53 + 1: a JavaScript number reads it as 2^53
    p.fill("input[name=seed]", seed)
    listed = set(p.eval_on_selector_all("#jobs .tile", "ts => ts.map(t => t.dataset.id)"))  # other tests' jobs
    p.click("#create button[type=submit]")
    p.wait_for_function(
        "ids => [...document.querySelectorAll('#jobs .tile')].some(t => !ids.includes(t.dataset.id))",
        arg=sorted(listed),
    )
    video_id = next(i for i in p.eval_on_selector_all("#jobs .tile", "ts => ts.map(t => t.dataset.id)")
                    if i not in listed)  # fmt: skip
    try:
        v = page.goto(f"/videos/{video_id}")
        assert v.locator("dt:text-is('Seed') + dd").inner_text() == seed
    finally:
        with warm_studio.api("alice") as api:
            api.delete(f"/v1/videos/{video_id}")
    assert [e for e in page.errors if not re.search(r"status of 404", e)] == []
