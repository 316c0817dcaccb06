"""Explore's public content route over HTTP: conditional requests answer as the API's do."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.timeout(600)

PASSWORD = "correct horse battery"


def _published_image(studio, name: str) -> str:
    with studio.api(name) as api:
        r = api.post("/v1/images/generations", json={"prompt": "a green circle", "size": "64x64"})
        assert r.status_code == 200, r.text
        image_id = next(v["id"] for v in api.get("/v1/videos").json()["data"] if v["seconds"] == "0")
    c = httpx.Client(base_url=studio.url, timeout=30)
    c.post("/signin", data={"email": f"{name}@example.com", "password": PASSWORD})
    csrf = re.search(r'name="csrf" content="([^"]+)"', c.get("/account").text).group(1)
    assert c.post(f"/videos/{image_id}/publish", data={"published": "1", "csrf": csrf}).status_code == 303
    return image_id


def test_explore_content_answers_304_to_a_browser_that_holds_the_file(studio):
    image_id = _published_image(studio, "fay")
    url = f"{studio.url}/explore/{image_id}/content"
    first = httpx.get(url, timeout=30)
    assert first.status_code == 200 and first.content[:4] == b"\x89PNG"
    etag = first.headers["etag"]
    with studio.api("fay") as api:  # the same tag the API's own content route gives
        assert api.get(f"/v1/videos/{image_id}/content").headers["etag"] == etag

    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = httpx.get(url, headers={"if-none-match": held}, timeout=30)
        assert again.status_code == 304, held
        assert again.content == b"" and again.headers["etag"] == etag
        head = httpx.head(url, headers={"if-none-match": held}, timeout=30)
        assert head.status_code == 304, held
    # A range asked with the tag held is still 304: the browser has the whole file.
    ranged = httpx.get(url, headers={"if-none-match": etag, "range": "bytes=0-3"}, timeout=30)
    assert ranged.status_code == 304

    stale = httpx.get(url, headers={"if-none-match": '"not-this-file"'}, timeout=30)
    assert stale.status_code == 200 and stale.content == first.content
