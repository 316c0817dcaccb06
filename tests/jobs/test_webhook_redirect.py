"""`zoetrope webhooks retry --url`: once a wrong webhook URL is fixed, every event still undelivered
(failed, or pending and backing off) and every event of a video still running goes to the right one."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.jobs.test_webhooks import Receiver
from zoetrope.db import engine_for, transaction
from zoetrope.jobs import dispatch, store, webhooks
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job, WebhookDelivery, now
from zoetrope.settings import get_settings

WRONG = "http://127.0.0.1:9/hooks"  # a typo'd port: nothing listens there
OTHER = "https://hooks.example/other"


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    r = Receiver()
    yield r
    r.server.shutdown()


def _event(s, job_id: str, url: str, status: str, attempts: int) -> str:
    row = webhooks.record_event(s, Job(id=job_id, status="completed", params={}), url)
    row.status, row.attempts, row.next_attempt_at = status, attempts, now() + 3600  # backing off for an hour
    return row.event_id


def test_retry_with_a_url_moves_every_undelivered_event_and_running_video_to_it(receiver):
    from zoetrope.cli import app

    engine = engine_for(get_settings().resolved_database_url)
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        failed = _event(s, "video_a", WRONG, "failed", 8)
        pending = _event(s, "video_b", WRONG, "pending", 3)
        elsewhere = _event(s, "video_c", OTHER, "pending", 1)
        running = store.add_job(s, Job(account_id="a", model="m", backend_model="m", seconds="4", size="64x64",
                                       params={"webhook_url": WRONG})).id  # fmt: skip
    assert dispatch.claim_next(engine, "w1", dispatch.DispatchPolicy()).id == running

    runner = CliRunner()
    refused = runner.invoke(app, ["webhooks", "retry", "--from-url", WRONG])
    assert refused.exit_code != 0 and "--url" in str(refused.exception)
    moved = runner.invoke(app, ["webhooks", "retry", "--url", receiver.url, "--from-url", WRONG],
                          catch_exceptions=False)  # fmt: skip
    assert f"queued 2 events to be sent again to {receiver.url}" in moved.output

    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, None) == 2  # at once, not after the backoff
    assert dispatch.complete(engine, running, "w1", dispatch.DispatchPolicy(), outputs={}, details={})
    with httpx.Client() as http:
        assert webhooks.deliver_due(engine, http, None) == 1
    assert sorted(receiver.event_ids()[:2]) == sorted([failed, pending])
    with transaction(engine) as s:
        rows = {d.event_id: d for d in s.scalars(select(WebhookDelivery))}
    assert rows[receiver.event_ids()[2]].job_id == running
    assert (rows[elsewhere].url, rows[elsewhere].attempts) == (OTHER, 1)  # bound elsewhere: left alone
