"""The job store and dispatch, on SQLite and PostgreSQL: claims, lanes, concurrency, leases."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from zoetrope.db import transaction
from zoetrope.errors import Conflict, InvalidRequest, NotFound
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job

POLICY = dispatch.DispatchPolicy(lease_seconds=30, starvation_seconds=60)


def _submit(engine, account="acct_a", lane="relaxed", max_concurrent=5, model="zoetrope-mini", **kw) -> str:
    with transaction(engine, immediate=True) as s:
        job = store.add_job(
            s,
            Job(
                account_id=account,
                model=model,
                backend_model=model,
                prompt="a red ball",
                seconds="4",
                size="128x128",
                lane=lane,
                max_concurrent=max_concurrent,
                **kw,
            ),
        )
        return job.id


def test_created_job_is_queued_and_visible_only_to_its_account(engine):
    jid = _submit(engine)
    with transaction(engine) as s:
        job = store.get_job(s, "acct_a", jid)
        assert (job.status, job.progress, job.id.startswith("video_")) == ("queued", 0, True)
        with pytest.raises(NotFound):
            store.get_job(s, "acct_b", jid)


def test_list_paginates_by_cursor_in_both_orders(engine):
    ids = [_submit(engine) for _ in range(5)]
    _submit(engine, account="acct_b")
    with transaction(engine) as s:
        first = store.list_jobs(s, "acct_a", limit=2)
        assert [j.id for j in first.jobs] == ids[::-1][:2] and first.has_more
        rest = store.list_jobs(s, "acct_a", limit=10, after=first.jobs[-1].id)
        assert [j.id for j in rest.jobs] == ids[::-1][2:] and not rest.has_more
        asc = store.list_jobs(s, "acct_a", limit=3, order="asc")
        assert [j.id for j in asc.jobs] == ids[:3]
        with pytest.raises(InvalidRequest):
            store.list_jobs(s, "acct_b", after=ids[0])  # another account's id is no cursor


def test_claim_takes_each_job_once_and_fast_before_relaxed(engine):
    relaxed = _submit(engine, lane="relaxed")
    fast = _submit(engine, lane="fast")
    first = dispatch.claim_next(engine, "w1", POLICY)
    second = dispatch.claim_next(engine, "w2", POLICY)
    assert (first.id, second.id) == (fast, relaxed)
    assert first.status == "in_progress" and first.attempts == 1
    assert dispatch.claim_next(engine, "w3", POLICY) is None


def test_old_relaxed_job_is_not_starved_by_fast_ones(engine):
    old = _submit(engine, lane="relaxed", created_at=time.time() - 600)
    _submit(engine, lane="fast")
    assert dispatch.claim_next(engine, "w1", POLICY).id == old


def test_per_account_concurrency_is_honoured(engine):
    a1 = _submit(engine, account="a", max_concurrent=1)
    _submit(engine, account="a", max_concurrent=1)
    b1 = _submit(engine, account="b", max_concurrent=1)
    assert dispatch.claim_next(engine, "w1", POLICY).id == a1
    assert dispatch.claim_next(engine, "w2", POLICY).id == b1
    assert dispatch.claim_next(engine, "w3", POLICY) is None
    assert dispatch.complete(engine, a1, "w1", POLICY, outputs={}, details={})
    assert dispatch.claim_next(engine, "w3", POLICY).account_id == "a"


def test_claim_only_takes_models_the_worker_serves(engine):
    _submit(engine, model="other-model")
    assert dispatch.claim_next(engine, "w1", POLICY, models=["zoetrope-mini"]) is None
    assert dispatch.claim_next(engine, "w1", POLICY, models=["other-model"]) is not None


def test_concurrent_claims_never_take_the_same_job(engine):
    ids = {_submit(engine, max_concurrent=100) for _ in range(12)}
    got: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        while (job := dispatch.claim_next(engine, f"w{n}", POLICY)) is not None:
            with lock:
                got.append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(got) == sorted(ids)


def test_expired_lease_requeues_then_fails_after_max_attempts(engine):
    jid = _submit(engine, max_attempts=2)
    short = dispatch.DispatchPolicy(lease_seconds=0.01)
    assert dispatch.claim_next(engine, "w1", short).id == jid
    time.sleep(0.05)
    assert dispatch.release_expired(engine) == []
    job = dispatch.claim_next(engine, "w2", short)
    assert (job.id, job.attempts) == (jid, 2)
    # the first worker comes back: its writes are fenced off
    assert not dispatch.heartbeat(engine, jid, "w1", short, progress=50)
    assert not dispatch.complete(engine, jid, "w1", short, outputs={}, details={})
    time.sleep(0.05)
    assert dispatch.release_expired(engine) == [jid]
    with transaction(engine) as s:
        job = store.get_job(s, "acct_a", jid)
        assert job.status == "failed" and job.error["code"] == "worker_lost"
        assert "2 attempts" in job.error["message"]


def test_heartbeat_writes_progress_and_stops_a_deleted_job(engine):
    jid = _submit(engine)
    dispatch.claim_next(engine, "w1", POLICY)
    assert dispatch.heartbeat(engine, jid, "w1", POLICY, progress=40)
    with transaction(engine, immediate=True) as s:
        assert store.get_job(s, "acct_a", jid).progress == 40
        store.delete_job(s, "acct_a", jid)
    assert not dispatch.heartbeat(engine, jid, "w1", POLICY, progress=60)
    assert not dispatch.is_live(engine, jid)


def test_deleting_a_queued_job_means_it_never_runs(engine):
    jid = _submit(engine)
    with transaction(engine, immediate=True) as s:
        store.delete_job(s, "acct_a", jid)
        with pytest.raises(NotFound):
            store.get_job(s, "acct_a", jid)
    assert dispatch.claim_next(engine, "w1", POLICY) is None


def test_idempotency_key_returns_same_job_and_refuses_other_body(engine):
    jid = _submit(engine)
    with transaction(engine, immediate=True) as s:
        store.remember_idempotent(s, "acct_a", "k1", "hash1", jid)
    with transaction(engine) as s:
        assert store.find_idempotent(s, "acct_a", "k1", "hash1").id == jid
        assert store.find_idempotent(s, "acct_b", "k1", "hash1") is None
        with pytest.raises(Conflict):
            store.find_idempotent(s, "acct_a", "k1", "hash2")


def test_failure_is_recorded_with_code_and_message(engine):
    jid = _submit(engine)
    dispatch.claim_next(engine, "w1", POLICY)
    assert dispatch.fail(engine, jid, "w1", code="generation_failed", message="boom")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
        assert job.status == "failed" and job.error == {"code": "generation_failed", "message": "boom"}


def test_a_poll_reads_the_same_video_as_the_job_and_only_for_its_account(engine):
    from zoetrope.api.schemas import Video

    jid = _submit(engine)
    with transaction(engine) as s:
        job = store.get_job(s, "acct_a", jid)
    with engine.connect() as conn:
        assert Video.of(store.get_video(conn, "acct_a", jid)) == Video.of(job)
        with pytest.raises(NotFound):
            store.get_video(conn, "acct_b", jid)
    with transaction(engine, immediate=True) as s:
        store.delete_job(s, "acct_a", jid)
    with engine.connect() as conn, pytest.raises(NotFound):
        store.get_video(conn, "acct_a", jid)


def test_an_idle_worker_wakes_when_the_doorbell_rings():
    bell = dispatch.Doorbell()
    seen = bell.rings
    bell.ring()  # rung between reading `rings` and waiting: the wait must not miss it
    assert bell.wait(seen, timeout=5)
    seen = bell.rings
    assert not bell.wait(seen, timeout=0.05)
    woke: list[float] = []
    waiter = threading.Thread(target=lambda: woke.append(bell.wait(seen, timeout=30) and time.monotonic()))
    waiter.start()
    time.sleep(0.1)
    rung_at = time.monotonic()
    bell.ring()
    waiter.join(timeout=30)
    assert woke and woke[0] - rung_at < 5  # at once, not after the 30 s timeout


def test_writers_of_one_process_queue_without_busy_errors(tmp_path):
    from sqlalchemy import text

    from zoetrope.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with transaction(eng, immediate=True) as s:
        s.execute(text("create table counter (n integer)"))
        s.execute(text("insert into counter values (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with transaction(eng, immediate=True) as s:
                    n = s.execute(text("select n from counter")).scalar_one()
                    s.execute(text("update counter set n = :n"), {"n": n + 1})
        except BaseException as e:  # noqa: BLE001 - any failure fails the test below
            errors.append(e)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with transaction(eng) as s:
        assert s.execute(text("select n from counter")).scalar_one() == 200
    assert errors == []
    eng.dispose()


def test_a_job_announced_on_postgres_wakes_the_workers_of_another_process(engine):
    stop = threading.Event()
    listener = dispatch.listen_for_jobs(engine, stop)
    if engine.dialect.name != "postgresql":
        assert listener is None  # SQLite's workers share one machine and poll
        return
    try:
        deadline = time.monotonic() + 30
        seen = dispatch.doorbell.rings
        while dispatch.doorbell.rings == seen and time.monotonic() < deadline:  # listening (it rings once)
            time.sleep(0.05)
        seen = dispatch.doorbell.rings
        with transaction(engine) as s:  # another connection, as another process's submit would use
            dispatch.announce(s)
        assert dispatch.doorbell.wait(seen, timeout=10)
    finally:
        stop.set()
        listener.join(timeout=10)


def test_a_worker_with_nothing_to_do_does_not_wait_for_the_write_lock(tmp_path):
    import sqlite3

    from zoetrope.db import make_engine
    from zoetrope.jobs.migrate import upgrade

    path = tmp_path / "jobs.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    running = _submit(eng, model="zoetrope-mini")
    assert dispatch.claim_next(eng, "w1", POLICY).id == running  # in progress, its lease not expired
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, say the API's
    other.execute("BEGIN IMMEDIATE")
    results: list = []
    t = threading.Thread(
        target=lambda: results.extend([dispatch.release_expired(eng), dispatch.claim_next(eng, "w2", POLICY)])
    )
    start = time.monotonic()
    t.start()
    t.join(timeout=10)  # the engine's busy timeout is 30 s: a worker that asked for the lock would still wait
    assert not t.is_alive() and results == [[], None]
    assert time.monotonic() - start < 5
    # Once there is a job to claim, the claim does take the lock, and gets it when the other writer ends.
    other.execute("ROLLBACK")
    queued = _submit(eng)
    other.execute("BEGIN IMMEDIATE")
    t = threading.Thread(target=lambda: results.append(dispatch.claim_next(eng, "w2", POLICY)))
    t.start()
    t.join(timeout=1)
    assert t.is_alive()  # waiting for the write lock
    other.execute("COMMIT")
    t.join(timeout=30)
    assert results[-1].id == queued
    other.close()
    eng.dispose()


@pytest.mark.postgres
def test_a_claim_is_not_skipped_for_the_same_account_claiming_in_another_schema():
    """Deployments (or tests) sharing one PostgreSQL database in schemas of their own: an account
    mid-claim in one schema leaves the account of the same id in the other free to claim."""
    from tests.jobs.conftest import _postgres_engine
    from zoetrope.jobs.migrate import upgrade

    (mine, admin, schema), (other, _, other_schema) = _postgres_engine(), _postgres_engine()
    try:
        upgrade(mine)
        upgrade(other)
        jid = _submit(mine, account="acct_shared")
        _submit(other, account="acct_shared")
        with transaction(other) as s:  # the other schema's claimer, mid-claim for acct_shared
            assert dispatch._account_slot_free(s, s.scalars(select(Job)).one())
            assert dispatch.claim_next(mine, "w1", POLICY).id == jid
    finally:
        mine.dispose()
        other.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE; DROP SCHEMA "{other_schema}" CASCADE'))
        admin.dispose()
