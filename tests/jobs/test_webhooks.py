"""Webhook delivery against a real HTTP receiver on loopback: signed so the `openai` client verifies
it (with each secret while one is rotated), retried on Standard Webhooks' schedule, sent once however
slow the receiver, cut off at its deadline when the receiver drips its answer, given up on after the
last attempt and sent again on request; queued for the URL the API was given whichever worker
finishes the job; a secret or URL that could never work is refused at start, and a worker that would
send unsigned events says so."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    """A local webhook endpoint: records each request, answers `status` after `delay` seconds, or with
    `drip`, one header line every `drip` seconds (noting in `cut_at` when the sender hung up)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.status, self.delay = 200, 0.0
        self.drip: float | None = None
        self.cut_at: float | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.drip is not None:
                    receiver.requests.append((dict(self.headers), body))
                    return self.drip_answer(receiver.drip)
                time.sleep(receiver.delay)
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def drip_answer(self, seconds: float) -> None:
                try:  # each line well within a read timeout; the whole answer far past any deadline
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for i in range(200):
                        time.sleep(seconds)
                        self.wfile.write(b"x-drip: %d\r\n" % i)
                    self.wfile.write(b"content-length: 0\r\n\r\n")
                except OSError:
                    receiver.cut_at = time.monotonic()

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
        rows = [
            webhooks.record_event(s, SimpleNamespace(id=f"video_{i:032x}", status=COMPLETED, params={}), url)
            for i in range(n)
        ]
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
    again = runner.invoke(app, ["webhooks", "retry"], catch_exceptions=False)
    assert "queued 1 event to be sent again" in again.output
    row = _rows(engine)[0]
    assert (row.status, row.attempts, row.url) == ("pending", 0, "https://hooks.example/a")
    assert runner.invoke(app, ["webhooks", "secret"]).output.startswith("whsec_")


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_deadline_and_tried_again_later(engine, receiver):
    import httpx

    # Every header line comes well within the 1 s read timeout; the whole answer would take 50 s.
    receiver.drip = 0.25
    policy = webhooks.RetryPolicy(delays=(5.0,), timeout=1.0, deadline=1.0)
    [event_id] = _queue(engine, receiver.url)
    start = time.monotonic()
    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, None, policy) == 0
    took = time.monotonic() - start
    assert took < policy.hold, took  # over while its claim held: no other sender could have sent it
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("pending", 1) and "1 s deadline" in row.last_error
    assert row.next_attempt_at > time.time() + 3  # a failed attempt: tried again after the backoff
    for _ in range(40):  # the connection was closed: the receiver's next line fails
        if receiver.cut_at is not None:
            break
        time.sleep(0.05)
    assert receiver.cut_at is not None and receiver.cut_at - start < policy.deadline + 2.0
    assert receiver.event_ids() == [event_id]


@pytest.mark.parametrize("separator", [" ", ",", ", "])
def test_while_a_secret_is_rotated_each_event_verifies_with_the_new_and_the_old(engine, receiver, separator):
    import httpx

    new, old = webhooks.new_secret(), webhooks.new_secret()
    webhooks.check_settings(separator.join([new, old]), receiver.url)
    _queue(engine, receiver.url)
    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, separator.join([new, old])) == 1
    [(headers, body)] = receiver.requests
    assert len(headers["webhook-signature"].split(" ")) == 2
    client = openai.OpenAI(api_key="unused")
    for secret in (new, old):  # a receiver holding either one alone
        assert client.webhooks.unwrap(body, headers, secret=secret).type == "video.completed"
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(body, headers, secret=webhooks.new_secret())


def test_a_bad_secret_in_a_rotation_list_is_named_at_start():
    from zoetrope.errors import ConfigError

    with pytest.raises(ConfigError, match="secret 2 of 2: .*base64"):
        webhooks.check_settings(f"{webhooks.new_secret()} whsec_abc", None)
    webhooks.check_settings("a raw secret, with a comma", None)  # not whsec_: one secret, kept whole


def test_a_worker_without_a_webhook_url_queues_the_event_for_the_url_the_api_was_given(
    engine, receiver, tmp_path, monkeypatch
):
    import httpx

    from zoetrope.access.accounts import open_account
    from zoetrope.access.keys import authenticate, create_key
    from zoetrope.backends.registry import Registry
    from zoetrope.config import load_config
    from zoetrope.jobs import dispatch, submit
    from zoetrope.storage import BlobStore

    with transaction(engine, immediate=True) as s:
        alice = authenticate(s, create_key(s, open_account(s, "alice", plan="pro").id)[1])
    monkeypatch.setenv("ZOETROPE_WEBHOOK_URL", receiver.url)  # the API's process
    get_settings.cache_clear()
    registry, blobs = Registry(load_config()), BlobStore(str(tmp_path / "blobs"))
    job = submit.submit(
        engine, registry, blobs, alice, submit.VideoRequest(prompt="a red ball", size="64x64")
    )
    monkeypatch.delenv("ZOETROPE_WEBHOOK_URL")  # a worker on another machine, without webhook settings
    get_settings.cache_clear()
    assert dispatch.claim_next(engine, "w1", dispatch.DispatchPolicy()).id == job.id
    assert dispatch.complete(engine, job.id, "w1", dispatch.DispatchPolicy(), outputs={}, details={})
    [row] = _rows(engine)
    assert (row.job_id, row.url, row.status) == (job.id, receiver.url, "pending")
    # That worker's sender sends nothing (it might lack the secret too); the API's signs it.
    stop = threading.Event()
    sender = threading.Thread(target=webhooks.run_sender, args=(engine, stop), kwargs={"secret": None})
    sender.start()
    sender.join(timeout=3)
    stop.set()
    assert not sender.is_alive() and receiver.requests == []
    secret = webhooks.new_secret()
    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, secret) == 1
    [(headers, body)] = receiver.requests
    assert openai.OpenAI(api_key="unused").webhooks.unwrap(body, headers, secret=secret).data.id == job.id


def test_a_worker_that_would_send_unsigned_events_says_so(tmp_path):
    from tests.jobs.conftest import slow_model_config

    config = slow_model_config(tmp_path)
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(tmp_path),
        "ZOETROPE_CONFIG_FILE": str(config),
        "ZOETROPE_WEBHOOK_URL": "https://hooks.example/zoetrope",
        "COLUMNS": "250",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("ZOETROPE_WEBHOOK_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoetrope", "worker", "-n", "1", "--model", "slow-test"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = ""
        for line in proc.stdout:  # its start, up to the line it prints once its workers run
            out += line
            if line.startswith("worker "):
                break
        proc.terminate()  # what it printed before waiting for jobs comes before what it prints stopping
        out += proc.stdout.read()  # (not communicate: it would skip what this pipe's buffer holds)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert webhooks.unsigned_warning(None, env["ZOETROPE_WEBHOOK_URL"]) in out, out
