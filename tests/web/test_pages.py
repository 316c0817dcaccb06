"""The studio's pages and forms over HTTP, without a browser: sign-in, CSRF, sign-up, pages."""

from __future__ import annotations

import re

import httpx
import pytest

from zoetrope.config import get_config

# The first test waits for the live server, which starts slowly on a busy machine.
pytestmark = pytest.mark.timeout(600)

PASSWORD = "correct horse battery"


def _signed_in(studio, name: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=studio.url, timeout=30)
    r = c.post("/signin", data={"email": f"{name}@example.com", "password": PASSWORD, "next": "/account"})
    assert r.status_code == 303, r.text
    page = c.get("/account").text
    return c, re.search(r'name="csrf" content="([^"]+)"', page).group(1)


def test_wrong_password_shows_the_error_on_the_sign_in_page(studio):
    r = httpx.post(studio.url + "/signin", data={"email": "alice@example.com", "password": "nope"})
    assert r.status_code == 401
    assert "wrong email or password" in r.text


def test_pages_need_sign_in_and_explore_does_not(studio):
    r = httpx.get(studio.url + "/library")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/library"
    assert httpx.get(studio.url + "/explore").status_code == 200


def test_every_page_renders_for_a_signed_in_admin(studio):
    c, _ = _signed_in(studio, "root")
    for path in ("/create", "/storyboard", "/library", "/explore", "/account", "/verify", "/admin"):
        assert c.get(path).status_code == 200, path


def test_admin_page_refuses_other_accounts(studio):
    c, _ = _signed_in(studio, "bob")
    assert c.get("/admin").status_code == 403


def test_a_session_calls_the_api_only_with_its_csrf_token(studio):
    c, csrf = _signed_in(studio, "alice")
    assert c.get("/v1/videos").status_code == 200
    body = {"prompt": "a red ball", "seconds": "1", "size": "112x64"}
    refused = c.post("/v1/videos", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert c.post("/v1/videos", json=body, headers={"x-csrf-token": csrf}).status_code == 200
    # Without a session cookie or a key, the API still answers 401 and names the fix.
    anonymous = httpx.get(studio.url + "/v1/videos", timeout=30)
    assert anonymous.status_code == 401
    assert "Authorization: Bearer" in anonymous.json()["error"]["message"]


def test_sign_up_makes_an_account_and_signs_in(studio):
    c = httpx.Client(base_url=studio.url, timeout=30)
    r = c.post("/signup", data={"email": "new@example.com", "password": "long enough pw"})
    assert r.status_code == 303
    account = c.get("/account").text
    assert "new@example.com" in account
    # A new plus account starts with its monthly credits, not at 0.
    monthly = get_config().plan("plus").monthly_credits
    assert f"data-credits>{monthly}<" in account, "sign-up did not grant the plan's monthly credits"
    short = httpx.post(studio.url + "/signup", data={"email": "x@example.com", "password": "short"})
    assert "at least 8 characters" in short.text


def _signed_in_with(studio, **form) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=studio.url, timeout=30)
    assert c.post("/signin", data={**form, "next": "/account"}).status_code == 303
    return c, re.search(r'name="csrf" content="([^"]+)"', c.get("/account").text).group(1)


def test_a_new_key_is_shown_once_after_the_redirect_and_only_to_its_sign_in(studio):
    c, csrf = _signed_in(studio, "alice")
    other, _ = _signed_in(studio, "alice")
    r = c.post("/account/keys", data={"name": "once", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account#keys"
    handed = next(k for k in c.cookies.jar if k.name == "zoetrope_new_key")
    other.cookies.jar.set_cookie(handed)
    seen = other.get("/account")
    assert seen.request.headers["cookie"].count("zoetrope_new_key=") == 1
    assert 'id="new-key"' not in seen.text  # another sign-in's handover is not shown
    page = c.get("/account").text
    key = re.search(r'<code id="new-key">(zk-[^<]+)</code>', page).group(1)
    assert (
        studio.api("alice").get("/v1/models", headers={"authorization": f"Bearer {key}"}).status_code == 200
    )
    assert 'id="new-key"' not in c.get("/account").text and key not in c.get("/account").text
    assert c.get("/account").text.count(">once<") == 1  # reloading made no second key


def test_an_alert_shows_only_what_the_server_wrote_and_signed_in_pages_are_not_stored(studio):
    c, csrf = _signed_in(studio, "alice")
    spoof = c.get("/account", params={"error": "Your account is suspended. Email billing@evil.example"})
    assert "suspended" not in spoof.text and spoof.headers["cache-control"] == "no-store"
    r = c.post("/account/keys/key_nope/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    page = c.get(r.headers["location"]).text
    assert 'role="alert"' in page and "key_nope" in page  # the server's own message, carried signed
    assert "no-store" not in httpx.get(studio.url + "/explore", timeout=30).headers.get("cache-control", "")


def test_a_browser_gets_a_page_for_a_bad_address_and_clients_keep_json(studio):
    c, _ = _signed_in(studio, "alice")
    html = {"accept": "text/html,application/xhtml+xml"}
    for path, status in (("/library?page=abc", 400), ("/nonexistent", 404)):
        r = c.get(path, headers=html)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), (
            path,
            r.text[:200],
        )
        assert 'role="alert"' in r.text and "<nav" in r.text  # the studio's own page, signed in
    assert c.get("/nonexistent").json()["error"]["code"] == "not_found"  # no text/html asked: JSON
    assert c.get("/v1/videos/video_nope", headers=html).json()["error"]["code"] == "not_found"


def test_signing_out_ends_the_session_for_a_copied_cookie_too(studio):
    c, csrf = _signed_in(studio, "alice")
    copied = dict(c.cookies)
    # Without the form's token another site cannot sign the browser out.
    assert c.post("/signout", data={"csrf": "forged"}).status_code == 303
    assert c.get("/account").status_code == 200
    assert c.post("/signout", data={"csrf": csrf}).headers["location"] == "/signin"
    thief = httpx.Client(base_url=studio.url, cookies=copied, timeout=30)
    assert thief.get("/account").status_code == 303
    assert thief.get("/v1/usage").status_code == 401


def test_a_new_password_ends_the_accounts_other_sessions(studio):
    email = "rotating@example.com"
    first = httpx.Client(base_url=studio.url, timeout=30)
    assert first.post("/signup", data={"email": email, "password": PASSWORD}).status_code == 303
    other, _ = _signed_in_with(studio, email=email, password=PASSWORD)
    csrf = re.search(r'name="csrf" content="([^"]+)"', first.get("/account").text).group(1)
    r = first.post("/account/password", data={"email": email, "password": PASSWORD + "!", "csrf": csrf})
    assert r.headers["location"].startswith("/account?saved=password"), r.headers
    assert first.get("/account").status_code == 200  # the session that changed it stays
    assert other.get("/account").status_code == 303


def test_a_session_of_a_limited_key_cannot_lift_its_limits(studio):
    from zoetrope.access.accounts import find_account
    from zoetrope.access.keys import create_key, list_keys
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = find_account(s, "alice")
        _, token = create_key(s, account.id, name="limited", quota={"seconds_per_day": 1})
    c, csrf = _signed_in_with(studio, api_key=token)
    with transaction(engine) as s:
        before = len(list_keys(s, account.id))
    for path, form in (
        ("/account/keys", {"name": "escape"}),
        ("/account/password", {"email": "limited@example.com", "password": PASSWORD}),
    ):
        r = c.post(path, data={**form, "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and "error=" in r.headers["location"], (path, r.headers)
        assert "quota or model list" in c.get(r.headers["location"]).text
    with transaction(engine) as s:
        assert len(list_keys(s, account.id)) == before
    engine.dispose()
    assert (
        httpx.post(
            studio.url + "/signin", data={"email": "limited@example.com", "password": PASSWORD}
        ).status_code
        == 401
    )


def test_a_published_image_shows_as_an_image_on_explore(studio):
    with studio.api("alice") as api:
        r = api.post("/v1/images/generations", json={"prompt": "a yellow star", "size": "64x64"})
        assert r.status_code == 200, r.text
        image_id = next(v["id"] for v in api.get("/v1/videos").json()["data"] if v["seconds"] == "0")
    c, csrf = _signed_in(studio, "alice")
    assert c.post(f"/videos/{image_id}/publish", data={"published": "1", "csrf": csrf}).status_code == 303
    page = httpx.get(studio.url + "/explore", timeout=30).text
    tile = page[page.index(f"/explore/{image_id}/content") - 200 :][:400]
    assert "<img" in tile and "<video" not in tile, tile
    image = httpx.get(f"{studio.url}/explore/{image_id}/content", timeout=30)
    head = httpx.head(f"{studio.url}/explore/{image_id}/content", timeout=30)
    assert image.status_code == head.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert head.content == b"" and head.headers["content-length"] == str(len(image.content))


def test_bad_numbers_in_the_studio_are_4xx_not_500(studio):
    c, _ = _signed_in(studio, "root")
    for month in ("bogus", "2026-13"):
        r = c.get("/admin", params={"month": month})
        assert r.status_code == 400 and "2025-06" in r.text, month
    page = c.get("/admin", params={"month": "2026-1"}).text
    assert 'value="2026-01"' in page


def test_an_images_quote_is_what_the_images_cost_and_queues_and_charges_nothing(warm_studio):
    """`Zoetrope-Quote: true` on an images request answers a video create's quote object (the studio's
    one price path); the same request without it is charged exactly that."""
    c, csrf = _signed_in(warm_studio, "erin")  # pro (two images at once); no other test moves its balance
    c.timeout = httpx.Timeout(120)
    headers = {"x-csrf-token": csrf}
    body = {"prompt": "a yellow star", "n": 2, "size": "64x64"}
    before = c.get("/v1/usage").json()["credits"]
    r = c.post("/v1/images/generations", json=body, headers={**headers, "zoetrope-quote": "true"})
    assert r.status_code == 200, r.text
    quote = r.json()
    assert quote == {
        "object": "video.quote",
        "model": "zoetrope-mini",
        "size": "64x64",
        "seconds": "0",
        "credits": 2 * get_config().prices.image_credits,
        "points": 0,
        "lane": "fast",
    }
    assert c.get("/v1/usage").json()["credits"] == before
    assert c.get("/v1/videos").json()["data"] == []  # nothing queued
    refused = c.post(
        "/v1/images/generations", json={**body, "n": 9}, headers={**headers, "zoetrope-quote": "1"}
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "n"  # refused as the create is
    made = c.post("/v1/images/generations", json=body, headers=headers)
    assert made.status_code == 200 and len(made.json()["data"]) == 2, made.text
    assert before - c.get("/v1/usage").json()["credits"] == quote["credits"]
    # The studio has no price path of its own.
    assert httpx.get(warm_studio.url + "/studio/quote", timeout=30).status_code == 404


def test_sign_up_refuses_markup_for_an_email(studio):
    r = httpx.post(
        studio.url + "/signup",
        data={"email": '"><script>alert(3)</script>@x.com', "password": PASSWORD},
        timeout=30,
    )
    assert r.status_code == 400 and "valid email" in r.text


def test_a_refused_email_comes_back_in_the_form_as_typed(studio):
    c, csrf = _signed_in(studio, "bob")
    r = c.post("/account/password", data={"email": "not-an-email", "password": PASSWORD, "csrf": csrf})
    page = c.get(r.headers["location"]).text
    assert "valid email" in page and 'value="not-an-email"' in page
