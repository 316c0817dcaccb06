"""What `zoetrope serve` and `zoetrope worker` start: the store, the registry, the blob store,
workers and the webhook sender, all from the settings."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from zoetrope.backends.registry import Registry, get_registry
from zoetrope.config import get_config
from zoetrope.db import engine_for, transaction
from zoetrope.errors import ConfigError
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
            child.stop()  # its running jobs finish first (or go back to the queue: `zoetrope worker`)
        for t in self.threads:
            t.join(timeout=timeout)


def check_data_dir(data_dir: Path) -> None:
    """Refuse, before anything starts, a data directory this process cannot create or write (a
    read-only mount, another user's folder, a file in its place): every job would fail on it."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".probe-"):
            pass
    except OSError as e:
        raise ConfigError(data_dir_problem(data_dir, e), param="ZOETROPE_DATA_DIR") from None


def data_dir_problem(data_dir: Path, e: OSError) -> str:
    """What is wrong with the data directory, in one line, with the fix."""
    reason = e.strerror or str(e)
    if data_dir.exists() and not data_dir.is_dir():
        reason = "it is a file, not a folder"
    return (
        f"cannot write the data directory {data_dir}: {reason}; point ZOETROPE_DATA_DIR at a folder "
        "this user can write (it holds keys and, by default, the database and blobs)"
    )


def check_account_plans(engine: Engine, plans: Collection[str]) -> None:
    """Refuse to start when accounts are on a plan the config no longer has: each of their calls
    would fail. Names the plan, some of its accounts, and the two ways out."""
    from sqlalchemy import func, select

    from zoetrope.access.models import Account

    with transaction(engine) as s:
        stranded = s.execute(
            select(Account.plan, func.count(), func.min(Account.name), func.max(Account.name))
            .where(Account.plan.not_in(list(plans)))
            .group_by(Account.plan)
        ).all()
    if not stranded:
        return
    problems = []
    for plan, count, first, last in stranded:
        names = first if count == 1 else f"{first}, {last}" + (f" and {count - 2} more" if count > 2 else "")
        problems.append(f"plan {plan!r} is not in the config but {count} account(s) are on it ({names})")
    raise ConfigError(
        f"{'; '.join(problems)}: put the plan back in the config file, or move them with "
        "`zoetrope accounts set NAME --plan PLAN`",
        param="ZOETROPE_CONFIG_FILE",
    )


def open_runtime(settings: Settings) -> Runtime:
    """Open the blob store (checked with a probe blob) and the model registry (every backend built), then
    the database (migrated to the newest schema): a bad store or model config leaves no new database."""
    check_data_dir(settings.data_dir)
    webhooks.check_settings(settings.webhook_secret, settings.webhook_url)
    blobs = checked_blob_store(settings.resolved_blob_url, settings.s3_endpoint_url)
    registry = get_registry()
    registry.check_config()
    engine = engine_for(settings.resolved_database_url)
    upgrade(engine)
    check_account_plans(engine, get_config().plans)
    policy = DispatchPolicy(lease_seconds=settings.lease_seconds)
    return Runtime(engine, registry, blobs, policy, threading.Event(), [])
