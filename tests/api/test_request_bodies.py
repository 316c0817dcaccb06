"""Request bodies on every route: one over the upload cap (ZOETROPE_MAX_UPLOAD_BYTES) is a 413
before it is read, whichever route reads it (a pydantic model, an upload, the admin API, MCP), and
a chunked one is read no further than the cap. Media types are matched as RFC 9110 says, without
regard to case. Driven at the ASGI level, so the test sees how much of a body the app read."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.api.inprocess import InProcess

LIMIT = 100_000
FRAMING = 64 * 1024  # a form's room beyond the cap
CHUNK = 16 * 1024


@pytest.fixture
def api(tmp_path, monkeypatch):
    api = InProcess(tmp_path, monkeypatch, env={"ZOETROPE_MAX_UPLOAD_BYTES": str(LIMIT)})
    yield api
    api.engine.dispose()


def _call(api: InProcess, method: str, path: str, headers: dict, body: bytes, *, chunked: bool = False):
    """(status, JSON answer, body bytes the app read): the body sent whole with its Content-Length,
    or in chunks with none."""
    headers = {"authorization": f"Bearer {api.tokens['pro']}", **headers}
    if not chunked:
        headers["content-length"] = str(len(body))
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)] or [b""]
    read, answer = 0, {"status": None, "body": b""}

    async def receive():
        nonlocal read
        if not pieces:
            await asyncio.sleep(3600)  # a client that stays connected
        piece = pieces.pop(0)
        read += len(piece)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(asyncio.wait_for(api.app(scope, receive, send), 60))
    return answer["status"], json.loads(answer["body"] or b"null"), read


def _multipart(fields: dict, files: dict | None = None) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://testserver/", data=fields, files=files)
    return request.read(), request.headers["content-type"]


ROUTES = [
    ("POST", "/v1/moderations", "application/json"),
    ("POST", "/v1/content_provenance_checks", "multipart/form-data; boundary=zb"),
    ("POST", "/v1/admin/accounts", "application/json"),
    ("POST", "/v1/admin/accounts/acct_x/keys", "application/json"),
    ("POST", "/v1/admin/accounts/acct_x/credits", "application/json"),
    ("PATCH", "/v1/admin/accounts/acct_x", "application/json"),
    ("POST", "/v1/videos", "application/json"),
    ("POST", "/v1/images/generations", "application/json"),
    ("POST", "/mcp", "application/json"),
]


@pytest.mark.parametrize(("method", "path", "ctype"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_a_body_over_the_cap_is_a_413_before_it_is_read(api, method, path, ctype):
    body = b'{"input": "' + b"a" * (2 * LIMIT) + b'"}'  # over the cap, and a form's room beyond it
    status, answer, read = _call(api, method, path, {"content-type": ctype}, body)
    assert status == 413 and answer["error"]["code"] == "request_too_large", answer
    assert read == 0
    # The refusal says what the limit is, where it is set, and what to do.
    message = answer["error"]["message"]
    assert f"{LIMIT:,} bytes" in message and "ZOETROPE_MAX_UPLOAD_BYTES" in message and "smaller" in message


@pytest.mark.parametrize(("method", "path", "ctype"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_a_chunked_body_is_read_no_further_than_the_cap(api, method, path, ctype):
    body = b'{"input": "' + b"a" * (10 * LIMIT) + b'"}'
    status, answer, read = _call(api, method, path, {"content-type": ctype}, body, chunked=True)
    assert status == 413 and answer["error"]["code"] == "request_too_large", answer
    assert read <= LIMIT + FRAMING + CHUNK


def test_a_chunked_body_under_the_cap_reaches_the_route_whole(api):
    quote = {"zoetrope-quote": "true"}
    padded = b" " * (LIMIT // 2)  # in chunks
    body = b'{"prompt": "a red ball",' + padded + b'"size": "64x64", "seconds": "1"}'
    status, answer, _ = _call(
        api, "POST", "/v1/videos", {"content-type": "application/json", **quote}, body, chunked=True
    )
    assert status == 200 and answer["size"] == "64x64", answer
    form, ctype = _multipart(
        {"prompt": "a red ball", "size": "64x112", "seconds": "1", "note": "x" * (LIMIT // 2)}
    )
    status, answer, _ = _call(api, "POST", "/v1/videos", {"content-type": ctype, **quote}, form, chunked=True)
    assert status == 200 and answer["size"] == "64x112", answer


@pytest.mark.parametrize("case", [str.upper, str.title], ids=["upper", "title"])
def test_media_types_are_read_whatever_their_case(api, case):
    fields = {"prompt": "a red ball", "size": "64x112", "seconds": "1"}
    form, ctype = _multipart(fields)
    kind, _, params = ctype.partition(";")  # the boundary's own case is kept: it is matched as it is
    r = api.post("/videos", content=form, headers={"Content-Type": f"{case(kind)};{params}"}, quote=True)
    assert r.status_code == 200 and r.json()["size"] == "64x112", r.text
    urlencoded = httpx.Request("POST", "http://testserver/", data=fields)
    r = api.post(
        "/videos",
        content=urlencoded.read(),
        headers={"Content-Type": case("application/x-www-form-urlencoded")},
        quote=True,
    )
    assert r.status_code == 200 and r.json()["size"] == "64x112", r.text
    upload = {"video": ("clip.mp4", b"\0" * 64, "video/mp4")}
    form, ctype = _multipart({"prompt": "on", "seconds": "1"}, upload)
    kind, _, params = ctype.partition(";")
    r = api.post("/videos/extensions", content=form, headers={"Content-Type": f"{case(kind)};{params}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "video", r.text  # read as a form: the file
