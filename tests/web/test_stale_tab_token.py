"""A tab opened before the browser signed out and in again in another tab (a new session, with a new
CSRF token) goes on working in Chromium: Cancel, the account's forms and Sign out. Signed in again as
another account, it does nothing for that one and says so in the page, and the bars of its running
jobs wait for their own account instead of saying the jobs were deleted. Over HTTP: a missing, wrong or
old token is still refused, and another site cannot read the current one."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.studio_jobs import submit_create

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PASSWORD = "a lantern at dusk"
SAME = "stale-tab@example.com"
OTHER = "stale-tab-other@example.com"
FIRST = "stale-tab-first@example.com"
FORMS = "stale-tab-forms@example.com"
HTTP = "stale-tab-http@example.com"
WATCHER = "stale-tab-watcher@example.com"
BYSTANDER = "stale-tab-bystander@example.com"
SWITCHED = "Another account signed in"


def _sign_up(p, url: str, email: str) -> None:
    p.goto(url + "/signup")
    p.fill("input[name=email]", email)
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url("**/create")


def _sign_out_and_in(studio, p, old_tab, email: str) -> None:
    """Tab `p` signs out, then in as `email`; `old_tab` sees its session end meanwhile (as a user
    coming back to it would), so the sign-in after it is one it has not seen."""
    p.goto(studio.url + "/account")
    p.click("header form[action='/signout'] button")
    p.wait_for_url("**/signin*")
    assert old_tab.context.request.get(studio.url + "/v1/usage").status == 401
    p.fill("input[name=email]", email)
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url("**/create")


def _keys(p, url: str) -> list[str]:
    """The key names on the account page of whoever the browser is signed in as."""
    p.goto(url + "/account")
    return p.locator("[data-key] td:first-child").all_inner_texts()


def test_cancel_in_a_tab_from_before_a_sign_in_elsewhere_cancels_the_job(page, warm_studio):
    _sign_up(page.page, warm_studio.url, SAME)
    p = page.page
    tile = submit_create(p, "a paper boat drifts", "10")
    tile.locator("[data-cancel]").wait_for()
    video_id = tile.get_attribute("data-id")

    other = p.context.new_page()
    _sign_out_and_in(warm_studio, other, p, SAME)
    tile.locator("[data-cancel]").click()
    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=cancelled]")
    assert tile.locator(".note").inner_text() == "Cancelled"
    assert p.context.request.get(f"{warm_studio.url}/v1/videos/{video_id}").status == 404
    assert p.locator("[role=alert]:visible").count() == 0
    assert [e for e in page.errors if not re.search(r"status of (401|404)", e)] == []  # no 403


def test_the_account_forms_of_a_tab_from_before_a_sign_in_elsewhere_go_through(page, warm_studio):
    _sign_up(page.page, warm_studio.url, FORMS)
    p = page.goto("/account")
    asked = []  # the page asks for a token only when the browser's session is not its own
    p.on("request", lambda r: "/studio/csrf" in r.url and asked.append(r.url))
    p.fill("input[name=name]", "made before")
    p.click("form[action='/account/keys'] button")
    p.locator("#new-key").wait_for()
    assert asked == []
    other = p.context.new_page()
    _sign_out_and_in(warm_studio, other, p, FORMS)

    p.fill("input[name=name]", "made after")
    p.click("form[action='/account/keys'] button")
    # The page from before still shows the first key's #new-key until the post's answer replaces it.
    p.locator("[data-key] td:first-child", has_text="made after").wait_for()
    p.wait_for_load_state()
    assert p.locator("[role=alert]:visible").count() == 0
    assert "made after" in p.locator("[data-key] td:first-child").all_inner_texts() and len(asked) == 1

    _sign_out_and_in(warm_studio, other, p, FORMS)
    p.click("header form[action='/signout'] button")
    p.wait_for_url("**/signin")
    other.goto(warm_studio.url + "/account")
    assert "/signin" in other.url  # the browser is signed out, not shown "stale token"


def test_a_tab_of_another_account_does_nothing_for_the_one_signed_in_now(page, warm_studio):
    p = page.page
    _sign_up(p, warm_studio.url, OTHER)
    _sign_up(p, warm_studio.url, FIRST)  # the browser: signed in as the first account
    page.goto("/account")
    other = p.context.new_page()
    _sign_out_and_in(warm_studio, other, p, OTHER)
    p.fill("input[name=name]", "not for the other")
    p.click("form[action='/account/keys'] button")
    notice = p.locator("#session-changed")
    notice.wait_for()
    assert SWITCHED in notice.inner_text() and notice.get_attribute("role") == "alert"
    assert p.url.endswith("/account")  # the form was not sent
    assert "not for the other" not in _keys(other, warm_studio.url)

    page.goto("/create")  # the other account's Create page; then the first account signs in again
    _sign_out_and_in(warm_studio, other, p, FIRST)
    p.fill("textarea[name=prompt]", "a moth at a window")
    p.click("#create button[type=submit]")
    p.locator("#create-error", has_text=SWITCHED).wait_for()
    assert p.locator("#jobs .tile").count() == 0
    assert p.context.request.get(warm_studio.url + "/v1/videos").json()["data"] == []


def test_a_job_watched_in_a_tab_of_another_account_is_not_said_deleted(page, warm_studio):
    p = page.page
    _sign_up(p, warm_studio.url, BYSTANDER)
    _sign_up(p, warm_studio.url, WATCHER)
    tile = submit_create(p, "a kite over a field", "10")
    tile.locator("[data-cancel]").wait_for()
    video_id = tile.get_attribute("data-id")
    # Whatever the tile says at any moment, kept: it must never have said "Deleted".
    p.evaluate(
        """() => { window.said = []; new MutationObserver(() => window.said.push(
            document.querySelector('#jobs .tile').textContent)).observe(document.getElementById('jobs'),
            { subtree: true, childList: true, characterData: true, attributes: true }); }"""
    )
    lib = p.context.new_page()  # the library's tile of the job, too: not reloaded as the other account
    lib.goto(f"{warm_studio.url}/library")
    lib.locator(f".tile[data-id='{video_id}'] [role=progressbar]").wait_for()
    other = p.context.new_page()
    _sign_out_and_in(warm_studio, other, p, BYSTANDER)
    notice = p.locator("#session-changed")
    notice.wait_for()
    assert SWITCHED in notice.inner_text() and notice.get_attribute("role") == "alert"
    assert p.locator("#session-ended").count() == 0  # signed in: not "sign in again"
    for tab, held in ((p, tile), (lib, lib.locator(f".tile[data-id='{video_id}']"))):
        held.locator(".note", has_text="cannot be followed").wait_for()
        assert held.locator("[role=progressbar]").count() == 1
        assert tab.locator("#session-changed").count() == 1
    assert tile.get_attribute("data-status") is None and lib.url.endswith("/library")

    _sign_out_and_in(warm_studio, other, p, WATCHER)  # the job's own account again: the bar goes on
    tile.locator(".note", has_text=re.compile("Queued|Rendering")).wait_for()
    assert notice.count() == 0
    tile.locator("[data-cancel]").click()
    p.wait_for_selector(f"#jobs .tile[data-id='{video_id}'][data-status=cancelled]")
    assert not [t for t in p.evaluate("window.said") if "Deleted" in t]


def _signed_in_over_http(studio, email: str) -> tuple[httpx.Client, str]:
    """A client signed in as `email`, and the CSRF token its account page carries."""
    c = httpx.Client(base_url=studio.url, timeout=60)
    r = c.post("/signin", data={"email": email, "password": PASSWORD, "next": "/account"})
    assert r.status_code == 303, r.text
    return c, re.search(r'name="csrf" content="([^"]+)"', c.get("/account").text).group(1)


def test_the_token_is_refused_missing_wrong_or_old_and_another_site_cannot_read_it(studio):
    signup = httpx.post(studio.url + "/signup", data={"email": HTTP, "password": PASSWORD}, timeout=60)
    assert signup.status_code == 303, signup.text
    c, old = _signed_in_over_http(studio, HTTP)
    c.post("/signout", data={"csrf": old})
    c, csrf = _signed_in_over_http(studio, HTTP)  # signed in again: a new session, a new token
    assert old != csrf
    tag = c.cookies["zoetrope_session_tag"]  # which session the browser holds, for its pages to compare
    assert f'name="session" content="{tag}"' in c.get("/account").text and tag not in (old, csrf)

    quote = {"prompt": "a red ball", "seconds": "1", "size": "112x64"}
    for i, token in enumerate((None, "", "forged", old)):
        headers = {"zoetrope-quote": "true"} | ({"x-csrf-token": token} if token is not None else {})
        r = c.post("/v1/videos", json=quote, headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed", (token, r.text)
        r = c.post("/account/keys", data={"name": f"refused-{i}", "csrf": token or ""})
        assert r.status_code == 303 and "error=" in r.headers["location"], token
    assert "refused-" not in c.get("/account").text  # no key was made

    # The page asks for the token of the session it holds now; another site is refused it.
    fresh = c.get("/studio/csrf", headers={"sec-fetch-site": "same-origin"})
    assert fresh.status_code == 200 and fresh.json()["csrf"] == csrf
    assert fresh.headers["cache-control"] == "no-store"
    for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "http://evil.example"}):
        r = c.get("/studio/csrf", headers=headers)
        assert r.status_code == 403 and csrf not in r.text, headers
        assert "access-control-allow-origin" not in r.headers
    assert httpx.get(studio.url + "/studio/csrf", timeout=60).status_code == 401  # no session
    ok = c.post("/v1/videos", json=quote, headers={"zoetrope-quote": "true", "x-csrf-token": csrf})
    assert ok.status_code == 200, ok.text
    c.post("/signout", data={"csrf": csrf})
    assert c.get("/studio/csrf").status_code == 401 and "zoetrope_session_tag" not in c.cookies
