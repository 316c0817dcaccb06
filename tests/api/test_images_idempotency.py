"""`/v1/images/generations` with an `Idempotency-Key`: the key is checked against the whole request,
`n` included. The same body answers the same images with no new job or charge; another body is a 409
that writes nothing. In process, with a thread playing the worker (it claims and completes jobs)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import images_app
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.db import transaction
from zoetrope.jobs import dispatch
from zoetrope.jobs.models import IdempotencyKey, Job
from zoetrope.media import encode_png

BODY = {"prompt": "a small red dot", "size": "64x64", "n": 2}


@pytest.fixture
def studio(tmp_path):
    engine, blobs, policy, app = images_app(tmp_path)
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "ivy", plan="pro")
        token = create_key(s, account.id)[1]

    stop = threading.Event()
    made = iter(range(1, 256))

    def work():  # the worker: every queued image is made at once, each of its own shade
        while not stop.is_set():
            job = dispatch.claim_next(engine, "test-worker", policy)
            if job is None:
                time.sleep(0.02)
                continue
            key = f"videos/{job.id}/1/image.png"
            blobs.put(key, encode_png(np.full((64, 64, 3), next(made), np.uint8)))
            dispatch.complete(engine, job.id, "test-worker", policy, outputs={"image": key}, details={})

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    client = TestClient(app)

    def post(body: dict, key: str = "img1"):
        return client.post(
            "/v1/images/generations",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    def state() -> tuple[int, int, int]:
        """(jobs, idempotency records, credits) of the account."""
        with transaction(engine) as s:
            jobs = s.scalar(select(func.count()).select_from(Job).where(Job.account_id == account.id))
            keys = s.scalar(
                select(func.count())
                .select_from(IdempotencyKey)
                .where(IdempotencyKey.account_id == account.id)
            )
            return jobs, keys, ledger.balance(s, account.id)

    yield post, state
    stop.set()
    worker.join(timeout=10)
    engine.dispose()


def test_the_same_body_answers_the_same_images_without_new_jobs_or_charges(studio):
    post, state = studio
    first = post(BODY)
    assert first.status_code == 200, first.text
    assert len(first.json()["data"]) == 2
    after_first = state()
    again = post(BODY)
    assert again.status_code == 200, again.text
    assert [d["b64_json"] for d in again.json()["data"]] == [d["b64_json"] for d in first.json()["data"]]
    assert state() == after_first


@pytest.mark.parametrize("change", [{"n": 3}, {"n": 1}, {"seed": 7}, {"prompt": "a large blue dot"}])
def test_the_same_key_with_another_body_is_a_409_that_writes_nothing(studio, change):
    post, state = studio
    assert post(BODY).status_code == 200
    before = state()
    r = post({**BODY, **change})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert r.json()["error"]["param"] == "Idempotency-Key"
    assert state() == before  # no job made or withdrawn, no key remembered, nothing charged


def test_a_refused_request_leaves_its_key_free_for_another_body(studio):
    post, state = studio
    before = state()
    r = post({**BODY, "size": "banana"})
    assert r.status_code == 400, r.text
    assert state() == before
    ok = post({**BODY, "n": 1})  # the key was never bound to the refused body
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["data"]) == 1


def test_a_key_as_long_as_a_key_may_be_is_checked_against_n_too(studio):
    post, state = studio
    key = "k" * 255
    assert post(BODY, key=key).status_code == 200
    before = state()
    assert post({**BODY, "n": 3}, key=key).status_code == 409
    assert state() == before
    assert post(BODY, key=key).status_code == 200
    assert state() == before
