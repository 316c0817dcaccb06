"""Create's refusals in Chromium name the field by its label on the page ("Start from an image",
"Seed"), not by the API's name for it (`input_reference`), and mark that field until it is fixed."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.timeout(300)


def _cost_is(p, pattern: str) -> str:
    p.wait_for_function("r => new RegExp(r).test(document.getElementById('cost').textContent)", arg=pattern)
    return p.inner_text("#cost")


def test_a_refused_image_or_seed_is_named_as_the_form_names_it_and_marked(page, studio, tmp_path):
    page.sign_in("alice")
    p = page.page
    p.fill("textarea[name=prompt]", "a red ball rolls")
    not_an_image = tmp_path / "holiday.png"
    not_an_image.write_bytes(b"this is text, not a picture")
    image = p.locator("input[name=image]")
    image.set_input_files(str(not_an_image))
    text = _cost_is(p, "^Start from an image ")
    assert "input_reference" not in text, text
    assert image.get_attribute("aria-invalid") == "true"
    tiles = p.locator("#jobs .tile").count()  # the account's jobs of other tests may be listed
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert (
        error.inner_text().startswith("Start from an image ") and "input_reference" not in error.inner_text()
    )
    assert p.locator("#jobs .tile").count() == tiles  # nothing was started

    image.set_input_files([])  # the fix: no image
    _cost_is(p, r"credits \(")
    assert image.get_attribute("aria-invalid") is None

    seed = p.locator("input[name=seed]")
    seed.fill("-5")
    seed.dispatch_event("change")
    assert _cost_is(p, "^Seed ").startswith("Seed must be between 0 and")
    assert seed.get_attribute("aria-invalid") == "true"
    seed.fill("42")
    seed.dispatch_event("change")
    _cost_is(p, r"credits \(")
    assert seed.get_attribute("aria-invalid") is None
    assert [e for e in page.errors if not re.search(r"status of 400", e)] == []
