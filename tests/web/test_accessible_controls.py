"""Every control on every studio page has a name a screen reader reads (a label, or aria-label),
every image has alt text, and on a phone every page of the menu is in sight."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

UNNAMED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
    && !e.getAttribute('aria-labelledby') && !e.title && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.outerHTML.slice(0, 100))"""


def _finished_video(studio, name: str, page) -> str:
    with studio.api(name) as api:
        job = api.post(
            "/v1/videos", json={"prompt": "a blue cube spins", "seconds": "1", "size": "64x64"}
        ).json()
        for _ in range(1200):
            if api.get(f"/v1/videos/{job['id']}").json()["status"] == "completed":
                return job["id"]
            page.wait_for_timeout(200)
    raise AssertionError("the video did not finish")


def test_every_control_has_a_name_and_every_image_a_text(page, warm_studio):
    page.sign_in("fay")
    video_id = _finished_video(warm_studio, "fay", page.page)
    for path in (
        "/create",
        "/storyboard",
        "/library",
        f"/videos/{video_id}",
        "/explore",
        "/account",
        "/verify",
    ):
        p = page.goto(path)
        assert p.evaluate(UNNAMED) == [], path
        assert p.eval_on_selector_all("img:not([alt])", "l => l.map(e => e.outerHTML)") == [], path
    # The remix strength slider is named by its own label, not only by the number shown beside it.
    p = page.goto(f"/videos/{video_id}")
    assert p.get_by_role("slider", name="Strength").get_attribute("name") == "strength"
    assert page.errors == []


def test_on_a_phone_every_page_of_the_menu_is_in_sight(browser, studio):
    from tests.web.conftest import Page

    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = Page(context.new_page(), studio)
        page.sign_in("root")  # an admin: the longest menu
        p = page.page
        links = p.locator("header.top nav a")
        assert links.count() == 6
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, links.nth(i).inner_text()
        page.shot("phone-menu", full_page=False)
    finally:
        context.close()


def test_storyboard_cards_move_and_go_by_keyboard_alone(page, studio):
    """An arrow or Remove pressed with the keyboard leaves the focus on the board: a second press of
    the same arrow moves the card on, and after a Remove the next card's Remove has the focus."""
    page.sign_in("hal")
    sb = page.goto("/storyboard")
    sb.focus("#sb-add")
    sb.keyboard.press("Enter")  # a third card, at 8 s
    sb.locator("#cards [name=prompt]").nth(2).fill("The ball stops")
    sb.locator("#cards li").nth(2).locator("[data-move='-1']").focus()
    sb.keyboard.press("Enter")
    sb.keyboard.press("Enter")
    prompts = "els => els.map(e => e.value)"
    assert sb.locator("#cards [name=prompt]").evaluate_all(prompts) == [
        "The ball stops",
        "A red ball rolls in from the left",
        "The ball bounces twice",
    ]
    # Still on the moved card's arrow (the first card's now).
    focused = "() => document.activeElement === document.querySelector('#cards li [data-move=\"-1\"]')"
    assert sb.evaluate(focused)
    sb.locator("#cards li").nth(0).locator("[data-remove]").focus()
    sb.keyboard.press("Enter")
    assert sb.locator("#cards li").count() == 2
    assert sb.evaluate("() => document.activeElement === document.querySelector('#cards li [data-remove]')")
    sb.keyboard.press("Enter")
    sb.keyboard.press("Enter")  # the last card gone: the focus is on Add card
    assert sb.locator("#cards li").count() == 0
    assert sb.evaluate("() => document.activeElement.id") == "sb-add"
    assert page.errors == []


def test_on_the_narrowest_phone_no_page_scrolls_sideways(browser, studio):
    from tests.web.conftest import Page

    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = Page(context.new_page(), studio)
        page.sign_in("fay")
        wide = """() => [...document.querySelectorAll('main *')]
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
          .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
        for path in ("/create", "/storyboard", "/library", "/explore", "/account", "/verify"):
            p = page.goto(path)
            assert p.evaluate("document.documentElement.scrollWidth") <= 320, (path, p.evaluate(wide))
            assert p.evaluate(wide) == [], path
            page.shot(f"phone-320{path.replace('/', '-')}")
    finally:
        context.close()
