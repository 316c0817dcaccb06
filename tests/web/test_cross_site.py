"""Sign-in, sign-up and sign-out refuse a form another site sent (login CSRF, cross-site sign-out), and
a form sent after the session ended comes back to its page after signing in, over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

# The first test waits for the live server, which starts slowly on a busy machine.
pytestmark = pytest.mark.timeout(600)

PASSWORD = "correct horse battery"
EVIL = "http://evil.example"
# What a browser sends with a form that a page of another site submits to the studio.
FORGED = (
    {"origin": EVIL},
    {"origin": "null"},  # a sandboxed frame or a data: URL
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "cross-site", "origin": EVIL},
    {"sec-fetch-site": "same-site", "origin": "http://other.127.0.0.1"},  # a sibling subdomain
)


def _signed_in(studio, name: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=studio.url, timeout=30)
    r = c.post("/signin", data={"email": f"{name}@example.com", "password": PASSWORD, "next": "/account"})
    assert r.status_code == 303, r.text
    return c, re.search(r'name="csrf" content="([^"]+)"', c.get("/account").text).group(1)


def _cookie_set(r: httpx.Response) -> bool:
    return any(h.lower().startswith("zoetrope_session=") for h in r.headers.get_list("set-cookie"))


def test_another_site_cannot_sign_the_browser_into_its_own_account(studio):
    victim, _ = _signed_in(studio, "bob")
    attacker_key = studio.keys["alice"]
    for headers in FORGED:
        r = victim.post("/signin", data={"api_key": attacker_key, "next": "/account"}, headers=headers)
        assert r.status_code == 403, (headers, r.status_code, r.headers)
        assert "another site" in r.text and not _cookie_set(r), headers
    assert "bob@example.com" in victim.get("/account").text  # still the victim's own session

    # The studio's own form: same origin by either header, or neither (curl, an old browser).
    host = urlsplit(studio.url).netloc
    for headers in (
        {"origin": studio.url},
        {"sec-fetch-site": "same-origin", "origin": studio.url},
        {"sec-fetch-site": "none"},  # typed or bookmarked
        {},
        # Behind a proxy that ends TLS: the browser's origin is https, the Host header the proxy's.
        {"origin": "https://studio.example", "host": "studio.example"},
        {"origin": "https://studio.example", "x-forwarded-host": "studio.example", "host": host},
    ):
        c = httpx.Client(base_url=studio.url, timeout=30)
        r = c.post(
            "/signin",
            data={"email": "bob@example.com", "password": PASSWORD, "next": "/account"},
            headers=headers,
        )
        assert r.status_code == 303 and r.headers["location"] == "/account", (headers, r.text[:300])
        assert _cookie_set(r), headers


def test_behind_a_proxy_that_rewrites_host_a_form_from_the_public_address_is_the_studios_own(studio):
    """Safari before 16.4 sends Origin and no Sec-Fetch-Site; a reverse proxy that rewrites Host (to
    its upstream's, as nginx's `proxy_pass` does by default) and sets no X-Forwarded-Host leaves
    the studio no header with the page's address. Its own sign-in and sign-up were refused as
    another site's; with ZOETROPE_PUBLIC_URL set to that address, they are its own."""
    # The requests as such a proxy forwards them: the upstream's Host, the browser's Origin.
    own = {"origin": studio.public_url}
    r = httpx.post(
        studio.url + "/signin",
        data={"email": "bob@example.com", "password": PASSWORD, "next": "/account"},
        headers=own,
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["location"] == "/account", r.text[:300]
    assert _cookie_set(r)
    r = httpx.post(
        studio.url + "/signup",
        data={"email": "behind-a-proxy@example.com", "password": PASSWORD},
        headers=own,
        timeout=30,
    )
    assert r.status_code == 303 and _cookie_set(r), r.text[:300]
    # The public address's origin, scheme and all: not another scheme or a host beside it.
    for origin in (studio.public_url.replace("https:", "http:"), EVIL, "https://evil.zoetrope.example.org"):
        r = httpx.post(
            studio.url + "/signin",
            data={"email": "bob@example.com", "password": PASSWORD},
            headers={"origin": origin},
            timeout=30,
        )
        assert r.status_code == 403 and not _cookie_set(r), origin
        # A refusal judged by the Origin names the setting that tells the studio its address.
        assert "ZOETROPE_PUBLIC_URL" in r.text, origin


def test_another_site_cannot_sign_up_the_browser(studio):
    for i, headers in enumerate(FORGED):
        email = f"forged-{i}@example.com"
        r = httpx.post(
            studio.url + "/signup", data={"email": email, "password": PASSWORD}, headers=headers, timeout=30
        )
        assert r.status_code == 403 and not _cookie_set(r), (headers, r.status_code)
        # No account was made under that email either.
        again = httpx.post(studio.url + "/signin", data={"email": email, "password": PASSWORD}, timeout=30)
        assert again.status_code == 401, headers
    c = httpx.Client(base_url=studio.url, timeout=30)
    r = c.post(
        "/signup",
        data={"email": "same-origin@example.com", "password": PASSWORD},
        headers={"origin": studio.url, "sec-fetch-site": "same-origin"},
    )
    assert r.status_code == 303 and _cookie_set(r)


def test_another_site_cannot_sign_the_browser_out(studio):
    c, csrf = _signed_in(studio, "bob")
    # A cross-site POST carries no SameSite=Lax cookie: the studio must neither end nor clear anything.
    for headers in FORGED:
        r = httpx.post(studio.url + "/signout", data={}, headers=headers, timeout=30)
        assert r.status_code == 403 and "set-cookie" not in r.headers, (headers, r.headers)
    # Without a cookie and without those headers (an old browser), still no cookie is cleared.
    r = httpx.post(studio.url + "/signout", data={}, timeout=30)
    assert r.status_code == 303 and "set-cookie" not in r.headers, r.headers
    assert c.get("/account").status_code == 200
    # The studio's own Sign out still signs out.
    r = c.post(
        "/signout", data={"csrf": csrf}, headers={"origin": studio.url, "sec-fetch-site": "same-origin"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert any(h.startswith('zoetrope_session=""') for h in r.headers.get_list("set-cookie")), r.headers
    assert c.get("/account").status_code == 303


def test_a_form_sent_after_the_session_ended_signs_in_back_to_its_page(studio):
    c, csrf = _signed_in(studio, "bob")
    other, other_csrf = _signed_in(studio, "bob")
    # One browser signed out (no cookie left), one whose session ended elsewhere (its cookie stays).
    stale = httpx.Client(base_url=studio.url, cookies=dict(other.cookies), timeout=30)
    assert other.post("/signout", data={"csrf": other_csrf}).status_code == 303
    assert c.post("/signout", data={"csrf": csrf}).status_code == 303
    assert not c.cookies and stale.cookies
    for path, form, referer, back in (
        ("/account/keys", {"name": "late"}, studio.url + "/account", "/account"),
        ("/account/keys", {"name": "late"}, None, "/account"),
        ("/account/keys/key_x/revoke", {}, EVIL + "/account/keys", "/account"),  # another site's: ignored
        ("/account/password", {"email": "b@example.com"}, None, "/account"),
        ("/videos/video_x/publish", {}, studio.url + "/videos/video_x?x=1", "/videos/video_x"),
        ("/videos/video_x/publish", {}, None, "/create"),
    ):
        headers = {"referer": referer} if referer else {}
        for client in (c, stale):
            r = client.post(path, data={**form, "csrf": csrf}, headers=headers)
            assert r.status_code == 303, (path, r.status_code)
            assert r.headers["location"] == f"/signin?next={back}", (path, referer, r.headers["location"])
    # Signing in from there lands on the page, which answers GET.
    page = c.get("/signin?next=/account").text
    assert 'name="next" value="/account"' in page
    r = c.post("/signin", data={"email": "bob@example.com", "password": PASSWORD, "next": "/account"})
    assert r.headers["location"] == "/account" and c.get("/account").status_code == 200
    # A studio page's forms send their Referer (and a real Origin) to the studio, and to no other site.
    assert c.get("/account").headers["referrer-policy"] == "same-origin"
    # A page asked for with GET still comes back to itself.
    assert httpx.get(studio.url + "/library", timeout=30).headers["location"] == "/signin?next=/library"


@pytest.mark.parametrize(
    "value", ["zoetrope.example.org", "ftp://zoetrope.example.org", "https://a.example:99999"]
)
def test_a_public_url_that_is_no_address_stops_every_command_naming_the_setting(value, tmp_path):
    """A public address the Origin check could never match is refused at start, not found out at sign-in."""
    env = {**os.environ, "ZOETROPE_PUBLIC_URL": value, "ZOETROPE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "webhooks", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("error (ZOETROPE_PUBLIC_URL): "), done.stderr
