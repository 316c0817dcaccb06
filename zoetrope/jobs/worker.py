"""The worker loop: claim a job, generate it under a lease, encode and store it, finish it.

A heartbeat thread renews the lease while the backend runs and writes the progress the
backend reports; when the job was deleted (or taken over after a lost lease) the next step's
progress callback raises `Cancelled`, so generation stops at the next step.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from zoetrope import heap
from zoetrope.backends.base import Cancelled
from zoetrope.backends.registry import Registry
from zoetrope.db import transaction
from zoetrope.errors import StorageUnavailable, ZoetropeError
from zoetrope.jobs import dispatch, metrics
from zoetrope.jobs.activity import QuietWaiter
from zoetrope.jobs.children import idle_class
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.models import FAILED, IN_PROGRESS, QUEUED, Job, now
from zoetrope.jobs.render import render
from zoetrope.jobs.streaks import FailureStreak
from zoetrope.storage import BlobStore
from zoetrope.yielding import pause, yielding_to

log = logging.getLogger(__name__)

# Errors of a service that is away for a while (blob store, database): the job is retried later. A
# wait for a connection past the pool's timeout is one (a slow database holds its connections), as
# is a connection the driver found closed; the API answers both with 503.
_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError, OperationalError, InterfaceError, PoolTimeout, StorageUnavailable,
)  # fmt: skip
try:
    from botocore.exceptions import BotoCoreError

    _TRANSIENT += (BotoCoreError,)
except ImportError:  # pragma: no cover - s3fs brings botocore
    pass


def _reason(e: BaseException) -> str:
    """What a client may read of an error the server met: its kind, and an OS error's reason
    without the server's file names or a database error's statement (both are in the log)."""
    if isinstance(e, StorageUnavailable) and e.__cause__ is not None:
        return _reason(e.__cause__)
    if isinstance(e, OSError) and e.strerror:
        return f"{type(e).__name__}: {e.strerror}"
    if isinstance(e, OSError | SQLAlchemyError) or type(e).__module__.startswith(
        ("botocore", "aiobotocore", "s3fs")
    ):
        return type(e).__name__  # their text holds SQL with its values, or the store's endpoint and keys
    return f"{type(e).__name__}: {e}"


# Jobs this process runs, by id, with each run's stop event: the API of the same process sets them
# on delete, so a worker of this process (or, through `forward_cancels`, of its worker process) stops
# at the next step without waiting for its heartbeat. Each run has its own event: a thread whose lease
# was lost stops, while another thread that took the job over runs it on.
_running: dict[str, set[threading.Event]] = {}
_running_lock = threading.Lock()
_cancel_forwards: list[Callable[[str], None]] = []


def _track(job_id: str) -> threading.Event:
    event = threading.Event()
    with _running_lock:
        _running.setdefault(job_id, set()).add(event)
    return event


def _untrack(job_id: str, event: threading.Event) -> None:
    with _running_lock:
        events = _running.get(job_id, set())
        events.discard(event)
        if not events:
            _running.pop(job_id, None)


def signal_cancel(job_id: str) -> None:
    """The job was deleted: a worker of this process (or of its worker process) stops it at the next step."""
    with _running_lock:
        events = list(_running.get(job_id, ()))
    for event in events:
        event.set()
    for forward in list(_cancel_forwards):
        forward(job_id)


def forward_cancels(callback: Callable[[str], None]) -> Callable[[], None]:
    """Call `callback(job_id)` on every `signal_cancel` too; returns the undo."""
    _cancel_forwards.append(callback)
    return lambda: _cancel_forwards.remove(callback) if callback in _cancel_forwards else None


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Lease:
    """Renews a job's lease from a thread and carries progress and cancellation to the backend."""

    def __init__(self, engine: Engine, job: Job, worker_id: str, policy: DispatchPolicy) -> None:
        self.engine, self.job_id, self.worker_id, self.policy = engine, job.id, worker_id, policy
        self.model = job.backend_model
        self.progress = 0
        self.cancelled = _track(job.id)
        self._done = threading.Event()
        self._last_step = time.perf_counter()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = min(self.policy.lease_seconds / 3, 1.0)
        streak = FailureStreak(log, f"heartbeat of {self.job_id}")
        while not self._done.wait(interval):
            try:
                alive = dispatch.heartbeat(
                    self.engine, self.job_id, self.worker_id, self.policy, progress=self.progress
                )
            except Exception as e:  # a database hiccup: try again next beat, the lease has slack
                streak.failed(e)
                continue
            streak.succeeded()
            if not alive:
                self.cancelled.set()
                return

    def step(self, fraction: float, message: str = "") -> None:
        """The backend's progress callback."""
        t = time.perf_counter()
        metrics.STEP_TIME.labels(self.model).observe(t - self._last_step)
        self._last_step = t
        # Generation is 0..90 %; encoding and storing the rest.
        self.progress = int(max(0.0, min(1.0, fraction)) * 90)
        if self.cancelled.is_set():
            raise Cancelled(self.job_id)

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        _untrack(self.job_id, self.cancelled)


class Worker:
    """Runs jobs for the models in `models` (None: every model the registry has)."""

    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        blobs: BlobStore,
        policy: DispatchPolicy,
        *,
        worker_id: str | None = None,
        models: list[str] | None = None,
        idle_sleep: float = 0.05,
        idle_compute: bool = False,
        settle_heap: bool = False,
        yield_to: QuietWaiter | None = None,
    ) -> None:
        """`idle_compute`: render on a thread of this worker's own in the idle scheduling class
        (`children.idle_class`), while claims, heartbeats and completions, which write the
        database, stay on threads of normal class (what `zoetrope worker --idle` does).
        `settle_heap`: once a model has rendered its first job (its weights are loaded), move the
        process's objects out of the garbage collector's passes (`zoetrope.heap.settle`), so later
        full collections, which stop every thread of the worker, stay short (what `zoetrope worker`
        does). `yield_to`: at every pause point of a render (`zoetrope.yielding.pause`, and each
        progress step), wait while the API that started this process answers a flow of requests
        (`zoetrope.jobs.activity`; what `serve`'s worker child does)."""
        self.engine, self.registry, self.blobs, self.policy = engine, registry, blobs, policy
        self.worker_id = worker_id or new_worker_id()
        self.models = models if models is not None else registry.model_names()
        self.idle_sleep = idle_sleep
        self.idle_compute = idle_compute
        self.settle_heap = settle_heap
        self.yield_to = yield_to
        self._compute: ThreadPoolExecutor | None = None
        self._writes: ThreadPoolExecutor | None = None

    def run_forever(self, stop: threading.Event) -> None:
        idle = self.idle_sleep
        # While the database is away every poll fails: one traceback, then a line every 10 s.
        streak = FailureStreak(log, f"worker {self.worker_id}: claiming a job", every=10.0)
        while not stop.is_set():
            rung = dispatch.doorbell.rings  # before the claim: a job queued after it rings again
            try:
                worked = self.run_once()
            except Exception as e:
                streak.failed(e)
                worked = False
            else:
                streak.succeeded()
            # Back off gently while idle (up to 0.2 s) so an empty queue costs little; a job
            # queued in this process rings the doorbell and ends the wait at once.
            idle = self.idle_sleep if worked else min(idle * 1.5, 0.2)
            if not worked:
                dispatch.doorbell.wait(rung, idle)

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue had nothing for this worker."""
        for failed in dispatch.release_expired(self.engine):  # their workers were lost too often
            self._discard_files(failed)
        job = dispatch.claim_next(self.engine, self.worker_id, self.policy, models=self.models)
        if job is None:
            return False
        metrics.DISPATCH_LATENCY.labels(job.lane).observe(max(0.0, now() - job.created_at))
        self._run(job)
        if self.settle_heap and _first_render(job.backend_model):
            heap.settle()
        return True

    def _run(self, job: Job) -> None:
        lease = _Lease(self.engine, job, self.worker_id, self.policy)
        status = "failed"
        try:
            backend = self.registry.backend(job.backend_model)
            outputs, details = self._render(job, backend, lease.step, lease.cancelled)
            if dispatch.complete(
                self.engine, job.id, self.worker_id, self.policy, outputs=outputs, details=details
            ):
                status = "completed"
                self._delete_earlier_attempts(job)
            else:  # deleted meanwhile, or another worker owns it now: our files are orphans
                self.blobs.delete_prefix(f"videos/{job.id}/{job.attempts}")
                status = "abandoned"
        except Cancelled:
            dispatch.fail(
                self.engine, job.id, self.worker_id, code="cancelled", message="the video was deleted"
            )
            self.blobs.delete_prefix(f"videos/{job.id}/{job.attempts}")
            status = "cancelled"
        except _TRANSIENT as e:
            log.warning("job %s hit a transient error, retrying later: %r", job.id, e)
            outcome = dispatch.retry_later(
                self.engine,
                job.id,
                self.worker_id,
                self.policy,
                code="service_unavailable",
                message=f"storage or database unavailable ({_reason(e)})",
            )
            if outcome == FAILED:  # its retry window is used up: a failed video keeps no files
                self._discard_files(job.id)
            status = "failed" if outcome == FAILED else "retrying"
        except ZoetropeError as e:  # output_blocked among them: no file of it is kept
            held = dispatch.fail(self.engine, job.id, self.worker_id, code=e.code, message=e.message)
            self._discard_files(job.id, attempt=None if held else job.attempts)
        except Exception as e:
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            held = dispatch.fail(
                self.engine,
                job.id,
                self.worker_id,
                code="generation_failed",
                message=_reason(e),
            )
            # Whatever this attempt stored (a video uploaded before a later step failed) goes with it.
            self._discard_files(job.id, attempt=None if held else job.attempts)
        finally:
            lease.close()
            dispatch.doorbell.ring()  # the account's slot is free: a capped job may be claimable
            metrics.JOBS_FINISHED.labels(job.backend_model, status).inc()
            metrics.JOB_LATENCY.labels(job.backend_model, status).observe(max(0.0, now() - job.created_at))

    def _discard_files(self, job_id: str, attempt: int | None = None) -> None:
        """Remove what a failed job stored, of every attempt (or of `attempt` alone: a job this
        worker no longer holds is another's to finish), half-written files included. A store that
        is away keeps them until the video is deleted; that is logged, not raised."""
        prefix = f"videos/{job_id}" if attempt is None else f"videos/{job_id}/{attempt}"
        try:
            self.blobs.delete_prefix(prefix)
        except (StorageUnavailable, OSError) as e:
            log.warning("job %s failed; its files could not be removed, storage is away (%s)", job_id, _reason(e))

    def _delete_earlier_attempts(self, job: Job) -> None:
        """Remove what attempts before this one stored (a worker lost between storing and completing
        leaves its files under its own attempt's prefix)."""
        for attempt in range(1, job.attempts):
            try:
                self.blobs.delete_prefix(f"videos/{job.id}/{attempt}")
            except StorageUnavailable:
                log.warning("job %s: could not remove attempt %d's files; storage is away", job.id, attempt)
                return

    def _render(
        self, job: Job, backend, step: Callable[..., None], stop: threading.Event | None = None
    ) -> tuple[dict, dict]:
        note = self._note(job)
        if not self.idle_compute:
            return self._render_here(job, backend, step, note, stop)
        if self._compute is None:  # one thread for all of this worker's jobs (torch keeps per-thread state)
            self._compute = ThreadPoolExecutor(1, f"render-{self.worker_id}", initializer=_enter_idle_class)
        return self._compute.submit(self._render_here, job, backend, step, note, stop).result()

    def _note(self, job: Job) -> Callable[[str, str], None]:
        """What the backend calls to keep a value for the job's later attempts (`dispatch.note`)."""

        def note(key: str, value: str) -> None:
            if not dispatch.note(self.engine, job.id, self.worker_id, key, value):
                raise Cancelled(job.id)  # deleted, or another worker holds it now

        if not self.idle_compute:
            return note
        # The render thread is in the idle class: a write from it could hold SQLite's lock while it
        # waits for a core, so notes are written from a thread of normal class, as heartbeats are.
        if self._writes is None:
            self._writes = ThreadPoolExecutor(1, f"notes-{self.worker_id}")
            self._writes.submit(int).result()  # its thread starts now, from this thread of normal class
        writes = self._writes
        return lambda key, value: writes.submit(note, key, value).result()

    def _render_here(
        self,
        job: Job,
        backend,
        step: Callable[..., None],
        note: Callable[[str, str], None],
        stop: threading.Event | None = None,
    ) -> tuple[dict, dict]:
        if self.yield_to is None:
            return render(job, backend, self.blobs, step, note, stop)

        def step_after_pause(*args, **kwargs) -> None:
            pause()
            step(*args, **kwargs)

        with yielding_to(self.yield_to.wait):
            return render(job, backend, self.blobs, step_after_pause, note, stop)


_rendered: set[str] = set()  # models that have rendered a job in this process
_rendered_lock = threading.Lock()


def _first_render(model: str) -> bool:
    """True the first time this process is told `model` has rendered a job."""
    with _rendered_lock:
        if model in _rendered:
            return False
        _rendered.add(model)
        return True


def _enter_idle_class() -> None:
    try:
        idle_class()
    except OSError:  # refused: the thread renders at the process's niceness
        log.warning("could not move the render thread to the idle scheduling class")


def give_back(engine: Engine, worker_id: str) -> list[str]:
    """Put the jobs that the workers started from `worker_id` (`start_workers`) hold back in the
    queue at once, for another worker to claim now rather than when their leases expire; their
    ids. A worker stopping before its jobs are done calls this just before it exits."""
    with transaction(engine, immediate=True) as s:
        held = s.scalars(
            select(Job).where(
                Job.status == IN_PROGRESS, Job.worker_id.startswith(f"{worker_id}-", autoescape=True)
            )
        ).all()
        for job in held:
            job.status, job.worker_id, job.lease_expires_at, job.progress = QUEUED, None, None, 0
            # Not a lost worker: the attempt stays counted (this process's render may still store
            # under its number before it stops) but spends none of max_attempts (`release_expired`).
            job.params = {**(job.params or {}), "given_back": (job.params or {}).get("given_back", 0) + 1}
        if held:
            dispatch.announce(s)  # workers on other machines claim them now, not at their next poll
        return [job.id for job in held]


def start_workers(worker: Worker, count: int, stop: threading.Event) -> list[threading.Thread]:
    """`count` threads running copies of `worker` (each with its own id)."""
    threads = []
    for n in range(count):
        w = Worker(
            worker.engine, worker.registry, worker.blobs, worker.policy,
            models=worker.models, idle_compute=worker.idle_compute, settle_heap=worker.settle_heap,
            yield_to=worker.yield_to,
        )  # fmt: skip
        w.worker_id = f"{worker.worker_id}-{n}"
        t = threading.Thread(target=w.run_forever, args=(stop,), name=f"worker-{n}", daemon=True)
        t.start()
        threads.append(t)
    return threads
