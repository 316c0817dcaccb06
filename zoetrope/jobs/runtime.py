"""What `zoetrope serve` and `zoetrope worker` start: the store, the registry, the blob store,
worker threads and the webhook sender, all from the settings."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from zoetrope.backends.registry import Registry, get_registry
from zoetrope.db import engine_for
from zoetrope.jobs import dispatch, webhooks
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.worker import Worker, new_worker_id, start_workers
from zoetrope.settings import Settings
from zoetrope.storage import BlobStore, blob_store_for

# How much lower than the API the in-process workers of `zoetrope serve` run (Linux nice steps):
# generation is throughput work that can wait a few milliseconds, requests are not.
WORKER_NICENESS = 10


@dataclass
class Runtime:
    engine: Engine
    registry: Registry
    blobs: BlobStore
    policy: DispatchPolicy
    stop: threading.Event
    threads: list[threading.Thread]

    def start(self, workers: int, *, webhook_secret: str | None) -> None:
        """Start `workers` worker threads and the webhook sender."""
        if workers > 0:
            proto = Worker(self.engine, self.registry, self.blobs, self.policy, worker_id=new_worker_id())
            threads = start_workers(proto, workers, self.stop)
            for t in threads:
                _lower_priority(t)
            self.threads += threads
            self.listen_for_jobs()
        sender = threading.Thread(
            target=webhooks.run_sender,
            args=(self.engine, self.stop),
            kwargs={"secret": webhook_secret},
            name="webhooks",
            daemon=True,
        )
        sender.start()
        self.threads.append(sender)

    def listen_for_jobs(self) -> None:
        """Wake this process's workers on jobs queued by other processes (PostgreSQL NOTIFY)."""
        listener = dispatch.listen_for_jobs(self.engine, self.stop)
        if listener is not None:
            self.threads.append(listener)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        dispatch.doorbell.ring()  # idle workers see the stop now, not at their next poll
        for t in self.threads:
            t.join(timeout=timeout)


def _lower_priority(thread: threading.Thread) -> None:
    """Give `thread` (and the threads it starts later) a lower CPU priority than the API's.
    Linux keeps a nice value per thread; elsewhere the thread keeps the process's."""
    if sys.platform != "linux" or thread.native_id is None:
        return
    try:
        os.setpriority(
            os.PRIO_PROCESS, thread.native_id, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS
        )
    except OSError:  # gone already, or not allowed here: the worker just keeps its priority
        pass


def open_runtime(settings: Settings) -> Runtime:
    """Connect to the database (migrating it to the newest schema) and the blob store."""
    engine = engine_for(settings.resolved_database_url)
    upgrade(engine)
    blobs = blob_store_for(settings.resolved_blob_url, settings.s3_endpoint_url)
    policy = DispatchPolicy(lease_seconds=settings.lease_seconds)
    return Runtime(engine, get_registry(), blobs, policy, threading.Event(), [])
