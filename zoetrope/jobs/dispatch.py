"""Dispatch: workers claim jobs, hold them by lease, report progress, and finish them.

A claim is one transaction: `FOR UPDATE SKIP LOCKED` on PostgreSQL (plus an advisory lock per
account so two workers cannot both take an account's last concurrency slot), `BEGIN IMMEDIATE`
on SQLite (one writer at a time, so the count it reads is exact). Every later write is fenced on
`worker_id`: a worker whose lease expired and was taken over cannot complete the job twice.
The job's credits are captured (completed) or released (failed) in the status change's transaction.

Leases are set and judged by the database's clock, never a worker's: workers on machines whose
clocks disagree would otherwise take over jobs still running elsewhere (a clock ahead sees every
lease expired) or keep dead workers' jobs for too long (a clock behind writes leases that last).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import Engine, Float, case, cast, func, literal_column, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from zoetrope.access import ledger
from zoetrope.db import single_read, transaction
from zoetrope.jobs import webhooks
from zoetrope.jobs.models import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job, now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchPolicy:
    """How the queue orders and retries work."""

    lease_seconds: float = 30.0
    # A relaxed job that has waited this long is ranked with the fast lane, so it cannot starve.
    starvation_seconds: float = 120.0
    # How long downloads stay available after completion (the video object's expires_at).
    retention_seconds: float = 7 * 24 * 3600.0
    claim_batch: int = 8
    # After a transient error (blob store or database away) a job waits this long, doubled per
    # retry up to `retry_max_seconds`, before it is queued again; it fails once it has been meeting
    # such errors for `retry_window_seconds`. These retries spend none of the job's attempts, which
    # count workers lost mid-job.
    retry_seconds: float = 2.0
    retry_max_seconds: float = 60.0
    retry_window_seconds: float = 900.0


class Doorbell:
    """Rung when a job may have become claimable (one was queued, or one finished and freed its
    account's slot); idle workers of this process wake at once instead of at their next poll.
    Workers in other processes learn of new jobs by polling, and on PostgreSQL from `announce`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0
        self._forwards: list[Callable[[], None]] = []

    @property
    def rings(self) -> int:
        return self._rings

    def ring(self) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify_all()
            forwards = list(self._forwards)
        for forward in forwards:
            forward()

    def forward(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` on every ring too (a worker process of ours learns of it); returns the undo."""
        with self._cond:
            self._forwards.append(callback)

        def undo() -> None:
            with self._cond:
                if callback in self._forwards:
                    self._forwards.remove(callback)

        return undo

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until a ring after `seen` (the `rings` read before the last claim), or `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rings != seen, timeout)


doorbell = Doorbell()

# PostgreSQL channel on which submit announces new jobs to the workers of every process.
JOBS_CHANNEL = "zoetrope_jobs"


def announce(session: Session) -> None:
    """Tell workers in other processes (and machines) that a job was queued: a NOTIFY on
    PostgreSQL, delivered when the transaction commits. SQLite's workers share a machine and poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {JOBS_CHANNEL}"))


def listen_for_jobs(engine: Engine, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, a thread that rings the doorbell on every announced job until `stop`;
    None on other databases."""
    if engine.dialect.name != "postgresql":
        return None
    thread = threading.Thread(target=_listen, args=(engine, stop), name="job-listener", daemon=True)
    thread.start()
    return thread


# The listener's wait before it connects again, doubled per failure in a row up to the maximum.
LISTEN_RETRY_SECONDS = 0.5
LISTEN_RETRY_MAX_SECONDS = 30.0


def _listen(engine: Engine, stop: threading.Event) -> None:
    from psycopg import Error as DriverError  # only PostgreSQL listens

    backoff = LISTEN_RETRY_SECONDS
    lost_at: float | None = None
    while not stop.is_set():
        try:
            raw = engine.raw_connection()
            try:
                conn = raw.driver_connection
                conn.autocommit = True
                conn.execute(f"LISTEN {JOBS_CHANNEL}")
                if lost_at is not None:
                    log.warning("job listener: listening again after %.1f s", time.monotonic() - lost_at)
                backoff, lost_at = LISTEN_RETRY_SECONDS, None
                doorbell.ring()  # jobs announced while we were not listening are claimable too
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        doorbell.ring()
            finally:
                raw.invalidate()  # a LISTENing autocommit connection does not go back to the pool
        except (DBAPIError, DriverError) as e:  # the connection dropped or the database is away
            if lost_at is None:  # one line per outage; workers poll meanwhile
                lost_at = time.monotonic()
                log.warning(
                    "job listener: database connection lost (%s); reconnecting in %.1f s, workers poll meanwhile",
                    _first_line(e), backoff,
                )  # fmt: skip
            else:
                log.debug("job listener: reconnecting failed (%s); next try in %.1f s", _first_line(e), backoff)
        except Exception:  # not the database: a bug, worth its traceback
            log.exception("job listener failed; restarting it in %.1f s", backoff)
        stop.wait(backoff)
        backoff = min(backoff * 2, LISTEN_RETRY_MAX_SECONDS)


def _first_line(e: BaseException) -> str:
    """A driver error as one line: its kind and its message's first line (no SQL, no hints)."""
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0]}" if text else type(orig).__name__


def database_clock(engine: Engine):
    """A SQL expression for the database's current time in seconds since the epoch (a float, as
    the jobs table stores times): what leases and backoffs are set and judged by."""
    if engine.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    # julianday('now') has millisecond precision; 2440587.5 is the Unix epoch's Julian day.
    return (func.julianday(literal_column("'now'")) - 2440587.5) * 86400.0


def _database_now(s: Session) -> float:
    return float(s.scalar(select(database_clock(s.get_bind()))))


def _fenced(job_id: str, worker_id: str):
    return (Job.id == job_id, Job.worker_id == worker_id, Job.status == IN_PROGRESS)


def claim_next(
    engine: Engine, worker_id: str, policy: DispatchPolicy, *, models: Collection[str] | None = None
) -> Job | None:
    """Take the next runnable job for this worker, or None when there is nothing to do."""
    postgres = engine.dialect.name == "postgresql"
    # A queued job's lease_expires_at, where set, is when its backoff after a transient error ends.
    queued = select(Job.id).where(
        Job.status == QUEUED, Job.deleted_at.is_(None), _due(Job.lease_expires_at, database_clock(engine))
    )
    if models is not None:
        queued = queued.where(Job.backend_model.in_(list(models)))
    if not _finds(engine, queued):
        return None
    with transaction(engine, immediate=True) as s:
        t = _database_now(s)
        due = _due(Job.lease_expires_at, t)
        other = aliased(Job)
        running = (
            select(func.count())
            .where(other.account_id == Job.account_id, other.status == IN_PROGRESS)
            .scalar_subquery()
        )
        rank = case((or_(Job.lane == "fast", Job.created_at <= t - policy.starvation_seconds), 0), else_=1)
        stmt = select(Job).where(
            Job.status == QUEUED, Job.deleted_at.is_(None), due, running < Job.max_concurrent
        )
        if models is not None:
            stmt = stmt.where(Job.backend_model.in_(list(models)))
        stmt = stmt.order_by(rank, Job.seq).limit(policy.claim_batch)
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=Job)
        for job in s.scalars(stmt).all():
            if postgres and not _account_slot_free(s, job):
                continue
            job.status = IN_PROGRESS
            job.worker_id = worker_id
            job.attempts += 1
            job.started_at = t
            job.lease_expires_at = t + policy.lease_seconds
            job.progress = 0
            return job
    return None


def _due(lease_expires_at, t):
    return or_(lease_expires_at.is_(None), lease_expires_at <= t)


def _finds(engine: Engine, query) -> bool:
    """Whether `query` (a SELECT) finds a row, read without a transaction or any lock.

    A worker asks before each claim and each sweep for expired leases, and most of the time there
    is nothing to do; on SQLite, taking the write lock to find that out made the API's creates,
    which need the same lock, wait for the worker's process, and for as long as the worker, at
    its lower priority, took to get a core back. A row committed just after the read is found at
    the next poll (or at once, where the doorbell rings)."""
    with single_read(engine) as conn:
        return conn.execute(query.limit(1)).first() is not None


def _account_slot_free(s: Session, job: Job) -> bool:
    # Serialise claims per account until commit, then count again with what others committed.
    # Try, never wait: a claimer holding this account's lock may be waiting for one we hold
    # (candidates come in different orders), so waiting could deadlock; skipping cannot.
    # Advisory locks are the database's, not the schema's: keyed on both, deployments sharing a
    # database in schemas of their own never skip each other's accounts.
    key = (func.hashtext(func.current_schema()), func.hashtext(job.account_id))
    if not s.scalar(select(func.pg_try_advisory_xact_lock(*key))):
        return False
    n = s.scalar(select(func.count()).where(Job.account_id == job.account_id, Job.status == IN_PROGRESS))
    return (n or 0) < job.max_concurrent


def heartbeat(
    engine: Engine, job_id: str, worker_id: str, policy: DispatchPolicy, *, progress: int | None = None
) -> bool:
    """Renew the lease (and write progress); False when the job is no longer this worker's to run
    (deleted, or its lease expired and another worker took it)."""
    values: dict = {"lease_expires_at": database_clock(engine) + policy.lease_seconds}
    if progress is not None:
        values["progress"] = max(0, min(99, progress))
    with transaction(engine, immediate=True) as s:
        # On the table, not the mapped class: the ORM's bulk-update path cost more than the UPDATE.
        result = s.execute(
            update(Job.__table__).where(*_fenced(job_id, worker_id), Job.deleted_at.is_(None)).values(**values)
        )
        return result.rowcount == 1


def note(engine: Engine, job_id: str, worker_id: str, key: str, value: str) -> bool:
    """Keep `value` under `key` in the job's params["resume"], for its later attempts (a backend's
    remote work, e.g. the upstream's video id); False if this worker no longer holds the job."""
    with transaction(engine, immediate=True) as s:
        job = s.scalar(select(Job).where(*_fenced(job_id, worker_id)))
        if job is None:
            return False
        params = dict(job.params or {})
        params["resume"] = {**(params.get("resume") or {}), key: value}
        job.params = params
        return True


def complete(
    engine: Engine, job_id: str, worker_id: str, policy: DispatchPolicy, *, outputs: dict, details: dict
) -> bool:
    """Mark the job completed with its outputs; False if this worker no longer holds it."""
    t = now()
    with transaction(engine, immediate=True) as s:
        job = s.scalar(select(Job).where(*_fenced(job_id, worker_id), Job.deleted_at.is_(None)))
        if job is None:
            return False
        job.status, job.progress, job.completed_at = COMPLETED, 100, t
        job.expires_at = t + policy.retention_seconds
        job.outputs, job.details = outputs, {**job.details, **details}
        job.lease_expires_at = None
        ledger.capture(s, job_id)  # with the status change: charged exactly once, or not at all
        webhooks.record_event(s, job)
        return True


def fail(engine: Engine, job_id: str, worker_id: str, *, code: str, message: str) -> bool:
    """Mark the job failed with a clear error; False if this worker no longer holds it."""
    with transaction(engine, immediate=True) as s:
        job = s.scalar(select(Job).where(*_fenced(job_id, worker_id)))
        if job is None:
            return False
        _mark_failed(s, job, code, message)
        return True


def retry_later(
    engine: Engine, job_id: str, worker_id: str, policy: DispatchPolicy, *, code: str, message: str
) -> str | None:
    """Give the job back after a transient error: queued again after a backoff, or failed with
    `code` once it has met such errors for `policy.retry_window_seconds`. Returns the job's new
    status (QUEUED or FAILED); None if this worker no longer holds it."""
    with transaction(engine, immediate=True) as s:
        t = _database_now(s)
        job = s.scalar(select(Job).where(*_fenced(job_id, worker_id)))
        if job is None:
            return None
        params = dict(job.params or {})
        params.setdefault("unavailable_since", t)
        retries = params["unavailable_retries"] = params.get("unavailable_retries", 0) + 1
        # How long the errors have kept the job from finishing: each backoff it waited, and each attempt
        # from its claim to its error; not the time it then sat in the queue behind other jobs (a job
        # that met a blip, waited an hour for a worker and met another has failed twice, not for an hour).
        failing = params.get("unavailable_for", 0.0)
        if "unavailable_last" in params:
            started = job.started_at if job.started_at is not None else t
            waited = min(started, params.get("unavailable_due", started)) - params["unavailable_last"]
            failing += max(0.0, waited) + max(0.0, t - started)
        if failing >= policy.retry_window_seconds:
            _mark_failed(s, job, code, f"{message}; giving up after {retries} tries in {failing:.0f} s")
            return FAILED
        # Queued again, held by no worker, and not claimed until the backoff has passed. The attempt
        # is given back: the next one stores its files where this one did.
        due = t + min(policy.retry_seconds * 2 ** (retries - 1), policy.retry_max_seconds)
        params.update(unavailable_for=failing, unavailable_last=t, unavailable_due=due)
        job.params = params
        job.status, job.worker_id, job.progress, job.attempts = QUEUED, None, 0, job.attempts - 1
        job.lease_expires_at = due
        return QUEUED


def _mark_failed(s: Session, job: Job, code: str, message: str) -> None:
    job.status, job.completed_at, job.lease_expires_at = FAILED, now(), None
    job.error = {"code": code, "message": message}
    ledger.release(s, job.id, reason=code)
    if job.deleted_at is None:
        webhooks.record_event(s, job)


def release_expired(engine: Engine) -> list[str]:
    """Put jobs whose lease expired back in the queue; past max_attempts, fail them. Returns the
    ids of jobs that failed."""
    failed: list[str] = []
    clock = database_clock(engine)
    if not _finds(engine, select(Job.id).where(Job.status == IN_PROGRESS, Job.lease_expires_at < clock)):
        return failed
    with transaction(engine, immediate=True) as s:
        t = _database_now(s)
        expired = s.scalars(
            select(Job)
            .where(Job.status == IN_PROGRESS, Job.lease_expires_at < t)
            .with_for_update(skip_locked=True)
        ).all()
        for job in expired:
            # Attempts that stopping workers gave back (`worker.give_back`) lost no worker.
            lost = job.attempts - (job.params or {}).get("given_back", 0)
            if job.deleted_at is not None:
                _mark_failed(s, job, "cancelled", "the video was deleted while it ran")
            elif lost >= job.max_attempts:
                _mark_failed(
                    s,
                    job,
                    "worker_lost",
                    f"the worker running this video stopped responding {lost} times "
                    f"(lease expired); giving up after {job.max_attempts} attempts",
                )
                failed.append(job.id)
            else:
                job.status, job.worker_id, job.lease_expires_at, job.progress = QUEUED, None, None, 0
    return failed


def is_live(engine: Engine, job_id: str) -> bool:
    """Whether the job still exists for its owner (cheap read; workers poll it between steps)."""
    with Session(engine) as s:
        return s.scalar(select(Job.deleted_at).where(Job.id == job_id)) is None
