"""An upstream that answers with something other than the Videos API (a wrong base_url's HTML page, a
proxy's error text, bytes that are not a video): one clear error naming base_url, and the upstream job
is deleted rather than left running."""

from __future__ import annotations

import httpx
import pytest

import zoetrope.backends.upstream as up
from zoetrope.backends.base import GenerationRequest
from zoetrope.errors import ModelUnavailable

REAL_CLIENT = httpx.Client
REQUEST = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1)


def _backend(monkeypatch, answer):
    calls: list[tuple[str, str]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append((req.method, req.url.path))
        return answer(req)

    monkeypatch.setattr(up.httpx, "Client", lambda **kw: REAL_CLIENT(transport=httpx.MockTransport(handler), **kw))
    backend = up.UpstreamBackend(base_url="http://8.8.8.8/v1", api_key="k", sizes=["64x64"], fps=8,
                                 poll_interval=0.01, retries=0)
    return backend, calls


def test_an_html_page_instead_of_the_api_names_base_url(monkeypatch):
    backend, _ = _backend(monkeypatch, lambda req: httpx.Response(200, text="<html><body>Welcome</body></html>"))
    with pytest.raises(ModelUnavailable, match=r"POST /videos.*<html>.*base_url 'http://8.8.8.8/v1'"):
        list(backend.generate(REQUEST))


def test_a_json_list_or_a_bad_progress_while_polling(monkeypatch):
    def answer(req):
        if req.method == "POST":
            return httpx.Response(200, json={"id": "v1", "status": "queued", "progress": "soon"})
        if req.method == "DELETE":
            return httpx.Response(200, json={"deleted": True})
        return httpx.Response(200, json=["not", "a", "video"])

    backend, calls = _backend(monkeypatch, answer)
    with pytest.raises(ModelUnavailable, match=r"GET /videos/v1 with something other than a JSON object"):
        list(backend.generate(REQUEST))
    assert calls[-1] == ("DELETE", "/v1/videos/v1")  # not left running upstream


def test_a_download_that_is_not_a_video_is_the_upstreams_fault_not_the_users(monkeypatch):
    def answer(req):
        if req.url.path.endswith("/content"):
            return httpx.Response(200, content=b"<html>Service temporarily unavailable</html>")
        return httpx.Response(200, json={"id": "v1", "status": "completed", "progress": 100})

    backend, _ = _backend(monkeypatch, answer)
    with pytest.raises(ModelUnavailable, match=r"sent a download that is not a video.*base_url"):
        list(backend.generate(REQUEST))
