"""Security basics of the app in process: security headers on every response, CORS closed unless
configured, webhooks refused to private addresses unless their network is allowed, keys stored
hashed and compared in constant time."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zoetrope.backends.registry import get_registry
from zoetrope.db import make_engine
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.webhooks import refused_destination
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore


def _client(tmp_path) -> TestClient:
    from zoetrope.api import Services, create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    upgrade(engine)
    return TestClient(
        create_app(Services(engine, get_registry(), BlobStore(str(tmp_path / "b")), DispatchPolicy()))
    )


def test_every_response_carries_security_headers_and_no_cors_by_default(tmp_path):
    with _client(tmp_path) as c:
        for r in (c.get("/healthz"), c.get("/v1/videos"), c.get("/nope")):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        pre = c.options(
            "/v1/videos", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
        )
        assert "access-control-allow-origin" not in pre.headers


def test_cors_opens_only_to_configured_origins(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_CORS_ORIGINS", '["https://studio.example"]')
    get_settings.cache_clear()
    with _client(tmp_path) as c:
        ok = c.get("/healthz", headers={"origin": "https://studio.example"})
        other = c.get("/healthz", headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://studio.example"
    assert "access-control-allow-origin" not in other.headers


def test_a_browser_may_send_the_openai_clients_headers_and_read_the_answers_headers(tmp_path, monkeypatch):
    """The `openai` JS client in a page sends its x-stainless-* headers (and a download revalidates or
    resumes): the preflight allows them, and the page may read the poll delay, ranges and ETag."""
    monkeypatch.setenv("ZOETROPE_CORS_ORIGINS", '["https://studio.example"]')
    get_settings.cache_clear()
    asked = (
        "authorization,content-type,x-stainless-os,x-stainless-retry-count,x-stainless-timeout,"
        "openai-organization,openai-project,openai-beta,idempotency-key,zoetrope-quote,range,if-range,"
        "if-none-match"
    )
    with _client(tmp_path) as c:
        pre = c.options(
            "/v1/videos",
            headers={
                "origin": "https://studio.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": asked,
            },
        )
        assert pre.status_code == 200, pre.text
        allowed = {h.strip() for h in pre.headers["access-control-allow-headers"].split(",")}
        assert set(asked.split(",")) <= allowed
        evil = c.options(
            "/v1/videos",
            headers={
                "origin": "https://studio.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization,x-evil",
            },
        )
        assert evil.status_code == 400  # only the named headers and the client's own prefix
        answer = c.get("/v1/videos/video_x", headers={"origin": "https://studio.example"})
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"openai-poll-after-ms", "content-range", "accept-ranges", "etag", "retry-after"} <= exposed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.0.10/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
    ],
)
def test_webhooks_to_private_ranges_are_refused_unless_allowed(url):
    assert refused_destination(url, []) is not None
    if url.startswith("http://10."):
        assert refused_destination(url, ["10.0.0.0/8"]) is None


def test_public_webhook_destination_is_allowed():
    assert refused_destination("https://93.184.215.14/hook", []) is None


def test_keys_are_stored_hashed_and_found_by_hash(tmp_path):
    """A key is found by the SHA-256 of the token, never by comparing secrets, so response timing
    says nothing about how much of a guessed token was right."""
    from sqlalchemy import select

    from zoetrope.access import keys
    from zoetrope.access.accounts import create_account
    from zoetrope.access.models import ApiKey
    from zoetrope.db import transaction

    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "k", plan="pro")
        _, token = keys.create_key(s, account.id)
        rows = s.execute(select(*ApiKey.__table__.c)).all()
        assert keys.authenticate(s, token).account_id == account.id
    assert not any(token in str(v) for row in rows for v in row)  # only its hash is kept
    assert any(keys.hash_token(token) == str(v) for row in rows for v in row)


def test_streamed_body_over_the_cap_is_413(tmp_path, monkeypatch):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import transaction

    monkeypatch.setenv("ZOETROPE_MAX_UPLOAD_BYTES", "1000")
    get_settings.cache_clear()

    def chunks():  # no Content-Length: the server must count as it reads
        for _ in range(1000):
            yield b" " * 512

    with _client(tmp_path) as c:
        engine = c.app.state.services.engine
        with transaction(engine, immediate=True) as s:
            token = create_key(s, create_account(s, "big", plan="pro").id)[1]
        r = c.post("/v1/videos", headers={"authorization": f"Bearer {token}"}, content=chunks())
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
