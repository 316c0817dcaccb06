"""Submit's answer when another request with the same Idempotency-Key wins the race to insert it."""

from __future__ import annotations

from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import batch, store, submit
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


def test_images_whose_key_another_request_inserted_first_answer_with_that_requests_jobs(
    engine, alice, tmp_path, monkeypatch
):
    """n images under one key, as the images route sends them: the request that loses the race to
    insert the key answers the winner's jobs, all of them, and makes none."""
    registry, blobs = Registry(load_config()), BlobStore(str(tmp_path / "blobs"))
    reqs = [submit.VideoRequest(prompt="a red dot", size="64x64", task="t2i", seed=i) for i in range(2)]
    first = batch.submit_all(engine, registry, blobs, alice, reqs, idempotency_key="race")
    # Both requests looked their keys up before either committed: the loser's look-ups of the whole
    # request's key (before and in its write) and of each image's key all missed.
    misses = {"remembered": 2, "find_idempotent": 2}

    def late(name):
        real = getattr(store, name)

        def look_up(*args, **kwargs):
            if misses[name]:
                misses[name] -= 1
                return {} if name == "remembered" else None
            return real(*args, **kwargs)

        return look_up

    for name in misses:
        monkeypatch.setattr(store, name, late(name))
    again = batch.submit_all(engine, registry, blobs, alice, reqs, idempotency_key="race")
    assert misses == {"remembered": 0, "find_idempotent": 0}
    assert [d.job.id for d in again] == [d.job.id for d in first] and not any(d.new for d in again)
    with transaction(engine) as s:
        assert len(store.list_jobs(s, alice.account_id, limit=10).jobs) == 2
