"""What `zoetrope serve` and `zoetrope worker` start: the store, the registry, the blob store,
worker threads and the webhook sender, all from the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from zoetrope.backends.registry import Registry, get_registry
from zoetrope.db import engine_for
from zoetrope.jobs import webhooks
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.worker import Worker, new_worker_id, start_workers
from zoetrope.settings import Settings
from zoetrope.storage import BlobStore, blob_store_for


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
            self.threads += start_workers(proto, workers, self.stop)
        sender = threading.Thread(
            target=webhooks.run_sender,
            args=(self.engine, self.stop),
            kwargs={"secret": webhook_secret},
            name="webhooks",
            daemon=True,
        )
        sender.start()
        self.threads.append(sender)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=timeout)


def open_runtime(settings: Settings) -> Runtime:
    """Connect to the database (migrating it to the newest schema) and the blob store."""
    engine = engine_for(settings.resolved_database_url)
    upgrade(engine)
    blobs = blob_store_for(settings.resolved_blob_url, settings.s3_endpoint_url)
    policy = DispatchPolicy(lease_seconds=settings.lease_seconds)
    return Runtime(engine, get_registry(), blobs, policy, threading.Event(), [])
