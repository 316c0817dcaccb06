"""What `zoetrope serve` and `zoetrope worker` start: the store, the registry, the blob store,
workers and the webhook sender, all from the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from zoetrope.backends.registry import Registry, get_registry
from zoetrope.db import engine_for
from zoetrope.jobs import dispatch, webhooks
from zoetrope.jobs.children import WorkerProcess
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.settings import Settings
from zoetrope.storage import BlobStore, checked_blob_store


@dataclass
class Runtime:
    engine: Engine
    registry: Registry
    blobs: BlobStore
    policy: DispatchPolicy
    stop: threading.Event
    threads: list[threading.Thread]
    children: list[WorkerProcess] = field(default_factory=list)

    def start(self, workers: int, *, webhook_secret: str | None) -> None:
        """Start `workers` workers in a child process (`zoetrope.jobs.children`), and the webhook sender."""
        if workers > 0:
            self.children.append(WorkerProcess(workers))
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
        for child in self.children:
            child.stop(timeout=max(timeout, 60.0))  # running jobs finish
        for t in self.threads:
            t.join(timeout=timeout)


def open_runtime(settings: Settings) -> Runtime:
    """Open the blob store (checked with a probe blob) and the model registry (every backend built), then
    the database (migrated to the newest schema): a bad store or model config leaves no new database."""
    webhooks.check_settings(settings.webhook_secret, settings.webhook_url)
    blobs = checked_blob_store(settings.resolved_blob_url, settings.s3_endpoint_url)
    registry = get_registry()
    registry.check_config()
    engine = engine_for(settings.resolved_database_url)
    upgrade(engine)
    policy = DispatchPolicy(lease_seconds=settings.lease_seconds)
    return Runtime(engine, registry, blobs, policy, threading.Event(), [])
