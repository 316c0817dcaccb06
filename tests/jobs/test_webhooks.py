"""Webhook delivery against a real HTTP receiver on loopback: signed so the `openai` client verifies
it, retried on Standard Webhooks' schedule, sent once however slow the receiver, given up on after the
last attempt and sent again on request; a secret or URL that could never work is refused at start."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import openai
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from zoetrope.db import engine_for, transaction
from zoetrope.jobs import webhooks
from zoetrope.jobs.models import COMPLETED, WebhookDelivery
from zoetrope.settings import Settings, get_settings


class Receiver:
    """A local webhook endpoint: records each request, answers `status` after `delay` seconds."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.status, self.delay = 200, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                time.sleep(receiver.delay)
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event_ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.requests]


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    r = Receiver()
    yield r
    r.server.shutdown()


def _queue(engine, url: str, n: int = 1) -> list[str]:
    with transaction(engine) as s:
        rows = [webhooks.record_event(s, SimpleNamespace(id=f"video_{i:032x}", status=COMPLETED), url)
                for i in range(n)]
        return [row.event_id for row in rows]


def _rows(engine) -> list[WebhookDelivery]:
    with transaction(engine) as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.seq)))


def test_an_event_is_signed_so_the_openai_client_verifies_it(engine, receiver):
    secret = webhooks.new_secret()
    [event_id] = _queue(engine, receiver.url)
    import httpx

    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, secret) == 1
        assert webhooks.deliver_due(engine, http, secret) == 0  # delivered: not sent again
    [(headers, body)] = receiver.requests
    openai.OpenAI(api_key="unused").webhooks.verify_signature(body, headers, secret=secret)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        openai.OpenAI(api_key="unused").webhooks.verify_signature(body, headers, secret=webhooks.new_secret())
    assert headers["webhook-id"] == event_id and _rows(engine)[0].status == "delivered"


def test_the_retry_schedule_is_standard_webhooks_and_lasts_a_day():
    policy = webhooks.RetryPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert policy.max_attempts == 8 and sum(policy.delays) > 24 * 3600


def test_a_failing_receiver_is_retried_then_given_up_on_and_sent_again_on_request(engine, receiver):
    import httpx

    policy = webhooks.RetryPolicy(delays=(0.0, 0.0))  # three attempts, no waiting
    [event_id] = _queue(engine, receiver.url)
    receiver.status = 500
    with httpx.Client() as http:
        for attempt in (1, 2, 3):
            assert webhooks.deliver_due(engine, http, None, policy) == 0
            [row] = _rows(engine)
            assert row.attempts == attempt and row.last_error == "HTTP 500"
        assert row.status == "failed" and webhooks.deliver_due(engine, http, None, policy) == 0
        assert len(receiver.requests) == 3
        receiver.status = 204
        with transaction(engine) as s:
            assert webhooks.retry_deliveries(s, [event_id]) == 1
        assert webhooks.deliver_due(engine, http, None, policy) == 1
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)


def test_a_slow_receiver_gets_each_event_once_from_two_senders(engine, receiver):
    import httpx

    receiver.delay = 0.6  # six events take 3.6 s one after another: longer than a batch was once held
    ids = _queue(engine, receiver.url, 6)
    policy = webhooks.RetryPolicy(timeout=1.0)  # a batch of six was held for 2 x 1.0 s

    def sender() -> None:
        with httpx.Client() as http:
            for _ in range(4):
                webhooks.deliver_due(engine, http, None, policy)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(receiver.event_ids()) == sorted(ids)  # each once
    assert {(r.status, r.attempts) for r in _rows(engine)} == {("delivered", 1)}


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ZOETROPE_WEBHOOK_SECRET", "whsec_abc", "base64"),
        ("ZOETROPE_WEBHOOK_SECRET", "whsec_", "0 bytes"),
        ("ZOETROPE_WEBHOOK_URL", "localhost:9000/hooks", "not an http(s) URL"),
        ("ZOETROPE_WEBHOOK_URL", "http://example.com:99999/hooks", "port out of range"),
    ],
)
def test_a_process_that_sends_webhooks_refuses_what_no_delivery_could_use(tmp_path, variable, value, says):
    env = {**os.environ, variable: value, "ZOETROPE_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "zoetrope", "worker"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.startswith(f"error ({variable}): "), done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "zoetrope.db").exists()  # refused before anything was made
    # A command that sends no webhooks does not care.
    listed = subprocess.run([sys.executable, "-m", "zoetrope", "webhooks", "list"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr


def test_a_network_list_that_does_not_parse_is_refused_by_every_command(monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.300/8")
    with pytest.raises(ValueError, match="not a network"):
        Settings()
    done = subprocess.run([sys.executable, "-m", "zoetrope", "webhooks", "list"], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error (ZOETROPE_WEBHOOK_ALLOWED_NETWORKS): ")


def test_an_event_for_a_url_with_a_bad_port_is_given_up_at_once(engine, receiver):
    import httpx

    _queue(engine, "http://example.com:99999/hooks")
    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, None) == 0
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("failed", 1) and "port out of range" in row.last_error


def test_list_variables_take_commas_or_json(monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    monkeypatch.setenv("ZOETROPE_CORS_ORIGINS", '["https://a.example"]')
    s = Settings()
    assert s.webhook_allowed_networks == ["10.0.0.0/8", "fd00::/8"] and s.cors_origins == ["https://a.example"]


def test_the_cli_lists_deliveries_and_sends_failed_ones_again(monkeypatch):
    from zoetrope.cli import app
    from zoetrope.jobs.migrate import upgrade

    engine = engine_for(get_settings().resolved_database_url)
    upgrade(engine)
    failed, pending = _queue(engine, "https://hooks.example/a", 2)
    with transaction(engine) as s:
        row = s.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == failed)).one()
        row.status, row.attempts, row.last_error = "failed", 8, "HTTP 503"
    monkeypatch.setenv("COLUMNS", "250")  # one row per delivery, ids unbroken
    runner = CliRunner()
    listed = runner.invoke(app, ["webhooks", "list", "--status", "failed"], catch_exceptions=False).output
    assert failed in listed and "HTTP 503" in listed and pending not in listed
    assert "1 pending, 0 delivered, 1 failed" in listed
    refused = runner.invoke(app, ["webhooks", "retry", failed, pending])
    assert refused.exit_code != 0 and "1 of the events named are not failed" in str(refused.exception)
    assert _rows(engine)[0].status == "failed"  # nothing queued
    moved = runner.invoke(app, ["webhooks", "retry", "--url", "https://hooks.example/b"], catch_exceptions=False)
    assert "queued 1 event to be sent again" in moved.output
    row = _rows(engine)[0]
    assert (row.status, row.attempts, row.url) == ("pending", 0, "https://hooks.example/b")
    assert runner.invoke(app, ["webhooks", "secret"]).output.startswith("whsec_")
