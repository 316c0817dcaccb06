"""The job listener of a worker process on PostgreSQL, when its connection is dropped (a server
restart, a failover, an administrator ending it): one line in the log saying so and that it
reconnects, no traceback; and jobs queued afterwards still wake the workers at once."""

from __future__ import annotations

import logging
import secrets
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from tests.jobs.conftest import PG_URL, reachable_postgres
from zoetrope.db import transaction
from zoetrope.jobs import dispatch

pytestmark = pytest.mark.postgres


@pytest.fixture()
def pg():
    """An engine whose connections carry an application name of their own, to find the listener's."""
    admin = reachable_postgres()
    name = f"zt-listener-{secrets.token_hex(6)}"
    engine = create_engine(PG_URL, connect_args={"application_name": name})
    yield engine, admin, name
    engine.dispose()
    admin.dispose()


def _rang_since(seen: int, within: float) -> float | None:
    """Seconds until the doorbell rang after `seen`, or None if it did not within `within` seconds."""
    start = time.monotonic()
    return time.monotonic() - start if dispatch.doorbell.wait(seen, within) else None


def _listener_backends(admin, name: str) -> list[int]:
    with admin.connect() as c:
        return list(c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :n AND query LIKE 'LISTEN%'"),
            {"n": name},
        ).scalars())  # fmt: skip


def test_a_dropped_listener_connection_logs_one_line_and_jobs_still_wake_workers(pg, caplog):
    engine, admin, name = pg
    stop = threading.Event()
    caplog.set_level(logging.DEBUG, logger="zoetrope.jobs.dispatch")
    seen = dispatch.doorbell.rings
    listener = dispatch.listen_for_jobs(engine, stop)
    try:
        assert _rang_since(seen, 10) is not None  # listening (it rings once when it starts)
        for drop in range(2):
            deadline = time.monotonic() + 5
            while not (pids := _listener_backends(admin, name)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(pids) == 1, pids
            caplog.clear()
            seen = dispatch.doorbell.rings
            with admin.connect() as c:
                assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pids[0]}).scalar()
            # It listens again (and rings, for jobs announced meanwhile) within a couple of seconds.
            assert _rang_since(seen, 5) is not None, f"drop {drop}: the listener did not come back"
            deadline = time.monotonic() + 5
            while _listener_backends(admin, name) in ([], pids) and time.monotonic() < deadline:
                time.sleep(0.05)

            # A job queued by another process now wakes this process's workers at once.
            seen = dispatch.doorbell.rings
            with transaction(engine) as s:
                dispatch.announce(s)
            woke = _rang_since(seen, 5)
            assert woke is not None and woke < 2.0, f"drop {drop}: woke after {woke}"

            said = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert not any(r.exc_info for r in said), [r.getMessage() for r in said]
            lost = [r.getMessage() for r in said if "reconnect" in r.getMessage()]
            assert len(lost) == 1, [r.getMessage() for r in said]
            assert "\n" not in lost[0] and "connection" in lost[0], lost
    finally:
        stop.set()
        listener.join(timeout=5)
