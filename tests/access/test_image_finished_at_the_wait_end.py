"""`/v1/images/generations` whose wait runs out just as the image is made: the image is charged, so it
is kept and answered (not deleted while its credits stay spent)."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import images_app
from tests.jobs.conftest import engine  # noqa: F401  (the migrated sqlite/postgres store fixture)
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.access.models import Charge
from zoetrope.api.routes import images
from zoetrope.db import transaction
from zoetrope.jobs import dispatch
from zoetrope.jobs.models import Job
from zoetrope.media import encode_png


def test_an_image_made_as_the_wait_runs_out_is_answered_and_charged_once(tmp_path, engine, monkeypatch):  # noqa: F811
    engine, blobs, policy, app = images_app(tmp_path, engine)
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "ivy", plan="pro")
        token = create_key(s, account.id)[1]
        account_id, before = account.id, ledger.balance(s, account.id)
    monkeypatch.setattr(images, "WAIT_SECONDS", 0.2)
    waited = images._wait

    async def wait_then_finish(svc, who, job_id):
        try:
            return await waited(svc, who, job_id)
        finally:  # the wait has given up: the worker completes the image now
            job = dispatch.claim_next(engine, "late-worker", policy)
            assert job is not None and job.id == job_id
            key = f"videos/{job.id}/1/image.png"
            blobs.put(key, encode_png(np.full((64, 64, 3), 7, np.uint8)))
            assert dispatch.complete(engine, job.id, "late-worker", policy, outputs={"image": key}, details={})

    monkeypatch.setattr(images, "_wait", wait_then_finish)
    r = TestClient(app).post(
        "/v1/images/generations",
        headers={"Authorization": f"Bearer {token}"},
        json={"prompt": "a small red dot", "size": "64x64"},
    )
    with transaction(engine) as s:
        charge = s.scalar(select(Charge).where(Charge.account_id == account_id))
        job = s.scalar(select(Job).where(Job.account_id == account_id))
        spent = before - ledger.balance(s, account_id)
        assert (charge.status, spent) == ("captured", charge.credits) and spent > 0
        assert job.deleted_at is None  # the charged image is the account's to fetch
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 1 and r.json()["data"][0]["b64_json"]
