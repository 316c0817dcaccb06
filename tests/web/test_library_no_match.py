"""A library search that finds nothing says so, and how to see everything again: not "Nothing here
yet" to someone whose library holds videos."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(300)


def test_a_search_with_no_match_says_the_filters_found_nothing(page, studio):
    with studio.api("alice") as api:
        r = api.post("/v1/videos", json={"prompt": "a lighthouse at dusk", "seconds": "2", "size": "64x64"})
        assert r.status_code == 200, r.text
    page.sign_in("alice")
    p = page.goto("/library")
    p.fill("input[name=q]", "a zeppelin made of jelly")
    p.select_option("select[name=kind]", "video")
    p.click("form.filters button")
    p.wait_for_url("**/library?*q=a+zeppelin*")
    said = p.locator("main p.card")
    assert said.inner_text() == "Nothing matches these filters. Show everything."
    assert p.locator("input[name=q]").input_value() == "a zeppelin made of jelly"  # kept, to be edited
    said.locator("a").click()
    p.wait_for_url("**/library")
    assert p.locator(".grid .tile").count() >= 1 and "Nothing" not in p.inner_text("main")
    assert page.errors == []
