"""Fake OpenAI-compatible Videos APIs on loopback, for the gateway (`upstream`) backend's tests: each
test's fake says how it answers in a `Handler` subclass, and `LoopbackUpstream` serves it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zoetrope.settings import get_settings


class Handler(BaseHTTPRequestHandler):
    """Answers without logging each request; `send_json` writes a whole JSON (or bytes) answer."""

    def send_json(self, body: dict | bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in {**(headers or {}), "content-length": str(len(data))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting
            pass

    def log_message(self, *args) -> None:
        pass


class LoopbackUpstream:
    """`handler` served on a free loopback port from a thread: `base_url` is its API's root; `close`
    sets `release` (answers waiting on it end) and stops the server."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.base_url = f"http://{self.host}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the upstream backend reach loopback, where the fakes are, for this test only (the
    settings are read again after each test: tests/conftest.py)."""
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    get_settings.cache_clear()
