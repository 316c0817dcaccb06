"""`/v1/images/generations` with an `Idempotency-Key`: the key is checked against the whole request,
`n` included. The same body answers the same images with no new job or charge; another body is a 409
that writes nothing. Two requests with the same key at once answer one complete set of images, or a
refusal, never images another request withdrew. In process on SQLite and PostgreSQL, with a thread
playing the worker (it claims and completes jobs)."""

from __future__ import annotations

import base64
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from tests.api.conftest import images_app
from tests.jobs.conftest import engine  # noqa: F401  (the migrated sqlite/postgres store fixture)
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, submit
from zoetrope.jobs.models import IdempotencyKey, Job
from zoetrope.media import encode_png

BODY = {"prompt": "a small red dot", "size": "64x64", "n": 2}


@pytest.fixture
def studio(tmp_path, engine):  # noqa: F811
    """`post(body, key)` as a pro account, `state()` of its jobs, keys and credits, and the PNG the
    worker made for each job (`made[job_id]`)."""
    engine, blobs, policy, app = images_app(tmp_path, engine)
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "ivy", plan="pro")
        token = create_key(s, account.id)[1]

    stop = threading.Event()
    shades = iter(range(1, 256))
    made: dict[str, str] = {}

    def work():  # the worker: every queued image is made at once, each of its own shade
        while not stop.is_set():
            job = dispatch.claim_next(engine, "test-worker", policy)
            if job is None:
                time.sleep(0.02)
                continue
            key = f"videos/{job.id}/1/image.png"
            png = encode_png(np.full((64, 64, 3), next(shades), np.uint8))
            blobs.put(key, png)
            made[job.id] = base64.b64encode(png).decode()
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

    yield SimpleNamespace(post=post, state=state, engine=engine, account_id=account.id, made=made)
    stop.set()
    worker.join(timeout=10)


def test_the_same_body_answers_the_same_images_without_new_jobs_or_charges(studio):
    post, state = studio.post, studio.state
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
    post, state = studio.post, studio.state
    assert post(BODY).status_code == 200
    before = state()
    r = post({**BODY, **change})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert r.json()["error"]["param"] == "Idempotency-Key"
    assert state() == before  # no job made or withdrawn, no key remembered, nothing charged


def test_a_refused_request_leaves_its_key_free_for_another_body(studio):
    post, state = studio.post, studio.state
    before = state()
    r = post({**BODY, "size": "banana"})
    assert r.status_code == 400, r.text
    assert state() == before
    ok = post({**BODY, "n": 1})  # the key was never bound to the refused body
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["data"]) == 1


def test_a_key_as_long_as_a_key_may_be_is_checked_against_n_too(studio):
    post, state = studio.post, studio.state
    key = "k" * 255
    assert post(BODY, key=key).status_code == 200
    before = state()
    assert post({**BODY, "n": 3}, key=key).status_code == 409
    assert state() == before
    assert post(BODY, key=key).status_code == 200
    assert state() == before


@pytest.mark.parametrize("n", [1, 3])
def test_a_key_used_before_it_covered_n_is_checked_against_the_images_that_request_made(studio, n):
    """A request made before an images key covered `n` left each image's record (`KEY:0`, `KEY:1`)
    and none of the whole request: the same key with another `n` answered more or fewer images
    (and made and charged the ones it lacked) instead of a 409."""
    first = studio.post(BODY)
    assert first.status_code == 200, first.text
    with transaction(studio.engine, immediate=True) as s:  # the request's record, which such a key lacks
        s.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.account_id == studio.account_id, IdempotencyKey.key == "img1"
            )
        )
    before = studio.state()
    r = studio.post({**BODY, "n": n})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert studio.state() == before
    again = studio.post(BODY)  # the body that made them: the same images, nothing new made or charged
    assert again.status_code == 200 and again.json()["data"] == first.json()["data"]
    jobs, _, credits = studio.state()
    assert (jobs, credits) == (before[0], before[2])


def test_of_two_requests_with_one_key_at_once_one_refused_partway_the_other_answers_every_image_live(
    studio, monkeypatch
):
    """A and B send the same body with the same key at once. A's second image is refused (its
    credits ran out) while B goes on: B had answered its first image with A's, which A then
    withdrew, so B's answer lacked it. Driven step by step: A stops before its second image until B
    stops before queuing one of its own, and B waits there until A has been answered."""
    with transaction(studio.engine, immediate=True) as s:  # one credit: A's first image, not its second
        ledger.grant(s, studio.account_id, 1 - ledger.balance(s, studio.account_id))
    real, calls, lock = submit.moderate, [], threading.Lock()
    b_waits, a_answered, answers, asking = threading.Event(), threading.Event(), {}, []

    def ask(who: str) -> None:
        answers[who] = studio.post(BODY, key="race")
        if who == "A":  # B's two images are paid for from here: what refused A is past
            with transaction(studio.engine, immediate=True) as s:
                ledger.grant(s, studio.account_id, 2 - ledger.balance(s, studio.account_id))
            a_answered.set()

    def moderate(*texts, **kw):
        with lock:
            calls.append(texts)
            call = len(calls)
        if call == 2:  # A, before its second image: B starts, and goes as far as it goes
            asking.append(threading.Thread(target=ask, args=("B",)))
            asking[-1].start()
            assert b_waits.wait(60)
        elif call == 3:  # B, before it queues an image of its own: until A is answered
            b_waits.set()
            assert a_answered.wait(60)
        return real(*texts, **kw)

    monkeypatch.setattr(submit, "moderate", moderate)
    ask("A")
    asking[0].join(timeout=120)
    a, b = answers["A"], answers["B"]
    assert a.status_code == 402 and a.json()["error"]["code"] == "insufficient_credits", a.text
    assert b.status_code == 200, b.text
    answered = [d["b64_json"] for d in b.json()["data"]]
    assert len(answered) == BODY["n"]
    with transaction(studio.engine) as s:
        jobs = s.scalars(select(Job).where(Job.account_id == studio.account_id, Job.deleted_at.is_(None)))
        live = {job.id for job in jobs}
        assert ledger.balance(s, studio.account_id) == 0  # B's two images, and nothing of A's
    assert sorted(answered) == sorted(studio.made[job_id] for job_id in live)  # every image answered is live
    again = studio.post(BODY, key="race")
    assert again.status_code == 200 and again.json()["data"] == b.json()["data"]
