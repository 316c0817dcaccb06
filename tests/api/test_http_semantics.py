"""HTTP as a client or a proxy reads it, against the live server: a 405 names every method its
path serves, a path written with a trailing slash is served (not redirected to another scheme),
and a download revalidated with its ETag is a 304."""

from __future__ import annotations

import httpx
import pytest

SIZE = "64x112"


@pytest.mark.parametrize(
    ("method", "path", "served"),
    [
        ("PUT", "/videos", {"GET", "POST"}),
        ("PUT", "/videos/video_x", {"GET", "DELETE"}),
        ("DELETE", "/videos/video_x/content", {"GET", "HEAD"}),
        ("PATCH", "/videos/video_x/remix", {"POST"}),
    ],
)
def test_a_405_allows_every_method_its_path_serves(server, method, path, served):
    r = httpx.request(
        method,
        server.base_url + path,
        headers={"authorization": f"Bearer {server.keys['alice']}"},
        timeout=30,
    )
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed", r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == served


def test_a_trailing_slash_is_served_as_the_path_without_it(server):
    """Behind a TLS proxy, a redirect to Starlette's absolute `http://` URL would leave https; a
    client that does not follow redirects would get no answer."""
    auth = {"authorization": f"Bearer {server.keys['alice']}"}
    listed = httpx.get(server.base_url + "/videos/", headers=auth, timeout=30)
    assert listed.status_code == 200 and listed.json()["object"] == "list", listed.text
    quoted = httpx.post(
        server.base_url + "/videos/",
        headers={**auth, "zoetrope-quote": "true"},
        json={"prompt": "a red ball", "size": SIZE, "seconds": "1"},
        timeout=30,
    )
    assert quoted.status_code == 200 and quoted.json()["object"] == "video.quote", quoted.text
    missing = httpx.get(server.base_url + "/videos/video_x/", headers=auth, timeout=30)
    assert missing.status_code == 404 and "location" not in missing.headers


def test_a_download_revalidated_with_its_etag_is_a_304_without_the_file(client, server):
    video = client.videos.create_and_poll(
        prompt="a red ball bounces", size=SIZE, seconds="1", poll_interval_ms=100
    )
    assert video.status == "completed", video
    url = f"{server.base_url}/videos/{video.id}/content"
    auth = {"authorization": f"Bearer {server.keys['alice']}"}
    whole = httpx.get(url, headers=auth, timeout=30)
    etag = whole.headers["etag"]
    for method in ("GET", "HEAD"):
        same = httpx.request(method, url, headers={**auth, "if-none-match": etag}, timeout=30)
        assert same.status_code == 304 and same.content == b"", (method, same.status_code)
        assert same.headers["etag"] == etag
        resumed = httpx.request(
            method, url, headers={**auth, "if-none-match": etag, "range": "bytes=0-9"}, timeout=30
        )
        assert resumed.status_code == 304, method
    changed = httpx.get(url, headers={**auth, "if-none-match": '"another"'}, timeout=30)
    assert changed.status_code == 200 and changed.content == whole.content
