"""The Create and Storyboard pages offer only the aspects the viewer's plan makes, so the form as it
first loads is one the API accepts. Longer durations stay on offer: their refusal names the plan
that makes them."""

from __future__ import annotations

import re

import httpx
import pytest

from zoetrope.config import get_config

pytestmark = pytest.mark.timeout(600)
PASSWORD = "correct horse battery"


def _options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="([^"]+)"', select)


def _page(studio, name: str, path: str) -> str:
    c = httpx.Client(base_url=studio.url, timeout=30)
    r = c.post("/signin", data={"email": f"{name}@example.com", "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c.get(path).text


def test_create_and_storyboard_offer_only_the_aspects_of_the_plan(studio):
    assert get_config().plans["bing-free"].aspects == ["9:16"]
    assert _options(_page(studio, "gus", "/create"), "aspect") == ["vertical"]
    assert _options(_page(studio, "gus", "/storyboard"), "aspect") == ["vertical"]
    assert get_config().plans["plus"].aspects is None  # any aspect
    assert _options(_page(studio, "bob", "/create"), "aspect") == ["landscape", "vertical", "square"]


def test_the_default_create_form_is_one_the_api_accepts(studio):
    """What the page selects at first (its first aspect, its selected duration and resolution) is
    quoted, not refused, for a plan with one aspect."""
    page = _page(studio, "gus", "/create")
    aspect = _options(page, "aspect")[0]
    seconds = re.search(r'<option value="(\d+)" selected>', page).group(1)
    resolution = re.search(r'<select name="resolution">.*?<option value="(\d+)" selected', page, re.S).group(
        1
    )
    from zoetrope.web.views import size_of

    with studio.api("gus") as api:
        r = api.post(
            "/v1/videos",
            json={"prompt": "a cone", "seconds": seconds, "size": size_of(aspect, int(resolution))},
            headers={"zoetrope-quote": "true"},
        )
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_the_price_says_when_the_credits_left_do_not_cover_it(page, studio):
    """Before the click, not only after it: the Create page's price line says the balance is short."""
    from zoetrope.access import ledger
    from zoetrope.access.accounts import find_account
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = find_account(s, "jan")
        ledger.grant(s, account.id, 3 - ledger.balance(s, account.id), note="spent elsewhere")
    engine.dispose()
    page.sign_in("jan")
    p = page.page
    p.fill("textarea[name=prompt]", "a red ball")
    p.select_option("select[name=seconds]", "4")
    p.select_option("select[name=resolution]", "480")
    p.wait_for_function("() => /credits \\(4 s at /.test(document.getElementById('cost').textContent)")
    price = p.locator("#cost").inner_text()
    assert price.endswith(": more than the 3 credits left"), price
    p.click("#create button[type=submit]")
    error = p.locator("#create-error")
    error.wait_for()
    assert "3 are left" in error.inner_text() and p.locator("#jobs .tile").count() == 0
    p.select_option("select[name=seconds]", "2")  # a 2 s clip at 480p costs no more than 3 credits
    p.wait_for_function(
        "() => /^\\d+ credits \\(2 s at [^:]*$/.test(document.getElementById('cost').textContent)"
    )
