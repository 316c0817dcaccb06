"""An upstream's Retry-After is honoured (seconds or an HTTP date, capped, never below the backoff), and
answers that are the upstream's fault rather than the request's (our job id gone, our key refused, a wrong
base_url) are ModelUnavailable naming the setting to fix; a 400 about the request's fields stays the user's."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

import zoetrope.backends.upstream as up
from zoetrope.backends.base import GenerationRequest
from zoetrope.errors import InvalidRequest, ModelUnavailable

REAL_CLIENT = httpx.Client
REAL_SLEEP = time.sleep
REQUEST = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1)


def _backend(monkeypatch, answer, retries=2):
    calls: list[tuple[str, str]] = []
    sleeps: list[float] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append((req.method, req.url.path))
        return answer(req, len(calls))

    monkeypatch.setattr(up.httpx, "Client", lambda **kw: REAL_CLIENT(transport=httpx.MockTransport(handler), **kw))
    here = threading.current_thread()

    def sleep(seconds: float) -> None:  # time.sleep is process-wide: other threads' sleeps are not this backend's
        if threading.current_thread() is here:
            sleeps.append(seconds)
        else:
            REAL_SLEEP(seconds)

    monkeypatch.setattr(up.time, "sleep", sleep)
    backend = up.UpstreamBackend(base_url="http://8.8.8.8/v1", api_key="k", sizes=["64x64"], fps=8,
                                 poll_interval=0.01, retries=retries)
    return backend, calls, sleeps


def _busy_then_done(status, retry_after, on):
    """`status` with Retry-After on the first `on` request, then a job that fails (so no video is decoded)."""
    def answer(req, n):
        if req.method == "DELETE":
            return httpx.Response(200, json={"deleted": True})
        if req.method == on and not getattr(answer, "served", False):
            answer.served = True
            return httpx.Response(status, headers={"retry-after": retry_after},
                                  json={"error": {"message": "slow down"}})
        if req.method == "POST":
            return httpx.Response(200, json={"id": "v1", "status": "queued"})
        return httpx.Response(200, json={"id": "v1", "status": "failed", "error": {"message": "stop here"}})
    return answer


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_on_create_is_waited(monkeypatch, status):
    backend, calls, sleeps = _backend(monkeypatch, _busy_then_done(status, "7", "POST"))
    with pytest.raises(ModelUnavailable, match="stop here"):
        list(backend.generate(REQUEST))
    assert calls[:2] == [("POST", "/v1/videos"), ("POST", "/v1/videos")]
    assert sleeps[0] == 7.0


def test_retry_after_http_date_on_poll_is_waited(monkeypatch):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    backend, calls, sleeps = _backend(monkeypatch, _busy_then_done(429, when, "GET"))
    with pytest.raises(ModelUnavailable, match="stop here"):
        list(backend.generate(REQUEST))
    waits = [s for s in sleeps if s != 0.01]  # the poll interval aside
    assert len(waits) == 1 and 17 <= waits[0] <= 20


def test_retry_after_is_capped_and_never_below_the_backoff(monkeypatch):
    backend, _, sleeps = _backend(monkeypatch, _busy_then_done(429, "86400", "POST"))
    with pytest.raises(ModelUnavailable, match="stop here"):
        list(backend.generate(REQUEST))
    assert sleeps[0] == up.MAX_RETRY_AFTER
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    for header in ("0", past, "soon"):
        backend, _, sleeps = _backend(monkeypatch, _busy_then_done(503, header, "POST"))
        with pytest.raises(ModelUnavailable, match="stop here"):
            list(backend.generate(REQUEST))
        assert sleeps[0] == 0.5  # the first backoff


def _job_then(status, path_suffix=""):
    def answer(req, n):
        if req.method == "POST":
            return httpx.Response(200, json={"id": "v1", "status": "completed" if path_suffix else "queued"})
        if req.method == "DELETE":
            return httpx.Response(200, json={"deleted": True})
        return httpx.Response(status, json={"error": {"message": "no such video"}})
    return answer


def test_our_job_gone_while_polling_is_the_upstreams_fault(monkeypatch):
    backend, calls, _ = _backend(monkeypatch, _job_then(404))
    with pytest.raises(ModelUnavailable, match=r"no longer has the video.*GET /videos/v1: HTTP 404.*base_url 'http://8.8.8.8/v1'") as e:
        list(backend.generate(REQUEST))
    assert not isinstance(e.value, InvalidRequest)
    assert calls[-1] == ("DELETE", "/v1/videos/v1")


def test_our_download_gone_is_the_upstreams_fault(monkeypatch):
    backend, _, _ = _backend(monkeypatch, _job_then(404, "/content"))
    with pytest.raises(ModelUnavailable, match=r"HTTP 404.*base_url"):
        list(backend.generate(REQUEST))


@pytest.mark.parametrize("status", [401, 403])
def test_our_key_refused_while_polling_names_the_key_setting(monkeypatch, status):
    backend, _, _ = _backend(monkeypatch, _job_then(status))
    with pytest.raises(ModelUnavailable, match=rf"HTTP {status}.*api_key"):
        list(backend.generate(REQUEST))


def test_a_wrong_base_url_on_create_is_not_the_users_fault(monkeypatch):
    backend, _, _ = _backend(monkeypatch, lambda req, n: httpx.Response(404, text="Not Found"))
    with pytest.raises(ModelUnavailable, match=r"POST /videos.*HTTP 404.*base_url 'http://8.8.8.8/v1'"):
        list(backend.generate(REQUEST))


def test_a_400_about_the_request_stays_the_users(monkeypatch):
    answer = lambda req, n: httpx.Response(400, json={"error": {"message": "prompt too long", "param": "prompt"}})  # noqa: E731
    backend, _, sleeps = _backend(monkeypatch, answer)
    with pytest.raises(InvalidRequest, match="prompt too long"):
        list(backend.generate(REQUEST))
    assert sleeps == []  # not retried
