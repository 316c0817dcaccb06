"""Submit's answer when another request with the same Idempotency-Key wins the race to insert it."""

from __future__ import annotations

from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import store, submit
from zoetrope.storage import BlobStore


def test_a_key_another_request_inserted_first_answers_with_that_requests_job(
    engine, alice, tmp_path, monkeypatch
):
    registry, blobs = Registry(load_config()), BlobStore(str(tmp_path / "blobs"))
    req = submit.VideoRequest(prompt="a red ball rolls", size="64x64", seconds="1")
    first = submit.submit(engine, registry, blobs, alice, req, idempotency_key="race")
    # The window between a request's look-up of its key and its insert, in which the other request
    # (another process, or PostgreSQL's next transaction) committed the same key: both look-ups miss.
    real, misses = store.find_idempotent, [2]

    def late(*args, **kwargs):
        if misses[0]:
            misses[0] -= 1
            return None
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "find_idempotent", late)
    again = submit.submit_once(engine, registry, blobs, alice, req, idempotency_key="race")
    assert again.job.id == first.id and not again.new  # not a 500 from the unique index
    with transaction(engine) as s:
        assert [j.id for j in store.list_jobs(s, alice.account_id, limit=10).jobs] == [first.id]
