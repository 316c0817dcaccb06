"""`/v1/images/generations` when some of its n images fail: the answer holds those made, and only
those are charged. In process, with the test playing the worker (it claims, completes and fails)."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import images_app
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.db import transaction
from zoetrope.jobs import dispatch
from zoetrope.jobs.models import Job
from zoetrope.media import encode_png


def test_an_image_that_fails_leaves_the_others_in_the_answer_and_costs_nothing(tmp_path):
    import numpy as np

    engine, blobs, policy, app = images_app(tmp_path)
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "ivy", plan="pro")
        token = create_key(s, account.id)[1]
        before = ledger.balance(s, account.id)

    answer = {}

    def ask():
        answer["r"] = TestClient(app).post(
            "/v1/images/generations",
            json={"prompt": "a yellow star", "n": 2, "size": "64x64"},
            headers={"Authorization": f"Bearer {token}"},
        )

    asking = threading.Thread(target=ask)
    asking.start()
    claimed = []
    deadline = time.monotonic() + 120
    while len(claimed) < 2 and time.monotonic() < deadline:  # the worker: take both as they are queued
        job = dispatch.claim_next(engine, "test-worker", policy)
        claimed += [job] if job else []
        time.sleep(0.05)
    made, blocked = claimed
    blobs.put(f"videos/{made.id}/1/image.png", encode_png(np.full((64, 64, 3), 200, np.uint8)))
    dispatch.complete(engine, made.id, "test-worker", policy, outputs={"image": f"videos/{made.id}/1/image.png"},
                      details={})
    dispatch.fail(engine, blocked.id, "test-worker", code="output_blocked", message="blocked by the output filter")
    asking.join(timeout=60)

    r = answer["r"]
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 1  # the image made; the blocked one is left out, not the whole answer
    with transaction(engine) as s:
        assert ledger.balance(s, account.id) == before - 1  # one image charged, the failed one released
        assert s.scalar(select(Job.status).where(Job.id == made.id)) == "completed"
    engine.dispose()
