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
