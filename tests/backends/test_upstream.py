"""The `upstream` backend's protocol (create, poll, download, cancel, errors, destinations) against
a scripted OpenAI-compatible Videos API: no servers, no network."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

import zoetrope.backends.upstream as up
from zoetrope.backends.base import Cancelled, GenerationRequest
from zoetrope.errors import InvalidRequest, ModelUnavailable

REAL_CLIENT = httpx.Client

def _scripted(monkeypatch, key: str = "good", status: int = 200):
    from zoetrope.media.encode import encode_mp4

    mp4 = encode_mp4(np.zeros((9, 64, 64, 3), np.uint8), fps=8)
    calls: list[tuple[str, str]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append((req.method, req.url.path))
        if req.headers["authorization"] != f"Bearer {key}":
            return httpx.Response(401, json={"error": {"message": "bad key"}})
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "upstream says no"}})
        if req.method == "POST":
            assert b'name="size"' in req.content and b"64x64" in req.content
            return httpx.Response(200, json={"id": "v1", "status": "queued", "progress": 0})
        if req.url.path.endswith("/content"):
            return httpx.Response(200, content=mp4)
        if req.method == "DELETE":
            return httpx.Response(200, json={"id": "v1", "deleted": True})
        return httpx.Response(200, json={"id": "v1", "status": "completed", "progress": 100})

    monkeypatch.setattr(up.httpx, "Client", lambda **kw: REAL_CLIENT(transport=httpx.MockTransport(handler), **kw))
    backend = up.UpstreamBackend(base_url="http://8.8.8.8/v1", api_key="good", sizes=["64x64"], fps=8,
                                 poll_interval=0.01, retries=1)
    return backend, calls


REQUEST = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1)


def test_scripted_upstream_create_poll_download(monkeypatch):
    backend, calls = _scripted(monkeypatch)
    frames = np.concatenate(list(backend.generate(REQUEST)))
    assert frames.shape == (9, 64, 64, 3)
    assert calls == [("POST", "/v1/videos"), ("GET", "/v1/videos/v1"), ("GET", "/v1/videos/v1/content")]


def test_cancel_deletes_the_upstream_job(monkeypatch):
    backend, calls = _scripted(monkeypatch)

    def cancel(fraction: float, message: str) -> None:
        raise Cancelled("deleted")

    with pytest.raises(Cancelled):
        list(backend.generate(REQUEST, cancel))
    assert calls == [("POST", "/v1/videos"), ("DELETE", "/v1/videos/v1")]


def test_upstream_errors_become_clear_errors(monkeypatch):
    backend, _ = _scripted(monkeypatch, key="other")
    with pytest.raises(ModelUnavailable, match="refused the key.*api_key"):
        list(backend.generate(REQUEST))
    backend, _ = _scripted(monkeypatch, status=422)
    with pytest.raises(InvalidRequest, match="upstream says no"):
        list(backend.generate(REQUEST))
    backend, calls = _scripted(monkeypatch, status=503)
    with pytest.raises(ModelUnavailable, match="unavailable after 2 tries"):
        list(backend.generate(REQUEST))
    assert len(calls) == 2


def test_loopback_upstream_is_refused_unless_allowed(monkeypatch):
    backend = up.UpstreamBackend(base_url="http://127.0.0.1:9/v1", api_key="k", sizes=["64x64"])
    with pytest.raises(ModelUnavailable, match="ZOETROPE_WEBHOOK_ALLOWED_NETWORKS"):
        list(backend.generate(REQUEST))
