"""A generation tool call the client cancels takes its job with it, over MCP's HTTP endpoint: the job
stops, as the REST API's DELETE stops it, instead of running on (and charging) for an answer no one
waits for. A call that only watches a job (`get_video`) leaves it running."""

from __future__ import annotations

import signal
import sqlite3
import time
from contextlib import suppress

import anyio
import httpx
import pytest

from tests.jobs.conftest import slow_model_config
from tests.mcp.live import Server, http_session, serving


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory) -> Server:
    """A server whose `slow-test` model takes 3 s a video (30 steps of 0.1 s)."""
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    data_dir = tmp_path_factory.mktemp("serve-slow")
    config = slow_model_config(tmp_path_factory.mktemp("config"))
    with serving(data_dir, weights, ZOETROPE_CONFIG_FILE=str(config)) as live:
        yield live


SLOW = {"prompt": "a grey square", "seconds": 1, "size": "64x64", "model": "slow-test"}


def _jobs(server: Server) -> list[tuple[str, str, float | None]]:
    with sqlite3.connect(server.data_dir / "zoetrope.db", timeout=30) as db:
        return db.execute("SELECT id, status, deleted_at FROM jobs ORDER BY created_at").fetchall()


def _settled(server: Server, job_id: str, timeout: float = 20) -> tuple[str, float | None]:
    """The job's status and deletion time once it is deleted or no longer runs."""
    deadline = time.monotonic() + timeout
    while True:
        [(status, deleted_at)] = [(s, d) for i, s, d in _jobs(server) if i == job_id]
        if deleted_at is not None or status not in ("queued", "in_progress") or time.monotonic() > deadline:
            return status, deleted_at
        time.sleep(0.1)


async def _cancel_once_running(session, tool: str, arguments: dict) -> None:
    """Call `tool`, then cancel the call once the job reports progress (as a client's stop button does)."""
    with anyio.CancelScope() as scope:

        async def on_progress(value, total, message):
            if "in progress" in (message or ""):
                scope.cancel()

        await session.call_tool(tool, arguments, progress_callback=on_progress)
    assert scope.cancelled_caught, "the call finished before it could be cancelled"


def test_cancelling_a_generation_call_stops_and_removes_its_job(slow_server):
    key = slow_server.keys["alice"]
    before = {i for i, _, _ in _jobs(slow_server)}

    async def go():
        async with http_session(slow_server, key) as s:
            await _cancel_once_running(s, "generate_video", SLOW)

    anyio.run(go)
    [job_id] = [i for i, _, _ in _jobs(slow_server) if i not in before]
    status, deleted_at = _settled(slow_server, job_id)
    assert deleted_at is not None and status != "completed", (status, deleted_at)
    r = httpx.get(f"{slow_server.url}/v1/videos/{job_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 404, r.text  # gone, as after DELETE /v1/videos/{id}
    assert _charge(slow_server, job_id) == "released"  # its credits came back


def _charge(server: Server, job_id: str) -> str:
    from zoetrope.access import ledger
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    try:
        with transaction(engine) as s:
            return ledger.get_charge(s, job_id).status
    finally:
        engine.dispose()


def test_cancelling_a_call_that_only_watches_leaves_the_job_running(slow_server):
    key = slow_server.keys["alice"]

    async def go():
        async with http_session(slow_server, key) as s:
            made = await s.call_tool("generate_video", {**SLOW, "wait": False})
            await _cancel_once_running(s, "get_video", {"video_id": made.structured_content["id"], "wait": True})
            return made.structured_content["id"]

    job_id = anyio.run(go)
    status, deleted_at = _settled(slow_server, job_id)
    assert (status, deleted_at) == ("completed", None) and _charge(slow_server, job_id) == "captured"


def test_stopping_the_server_keeps_the_jobs_of_calls_in_flight(tmp_path_factory):
    """Ctrl-C twice on `zoetrope serve` cancels the calls still waiting, but their clients did not
    cancel them: the jobs stay (finished, or back in the queue for the next start), not deleted."""
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    config = slow_model_config(tmp_path_factory.mktemp("config"))
    with serving(tmp_path_factory.mktemp("serve-stop"), weights, ZOETROPE_CONFIG_FILE=str(config)) as live:

        async def go():
            async with http_session(live, live.keys["alice"]) as s:

                async def on_progress(value, total, message):
                    if "in progress" in (message or "") and live.process.poll() is None:
                        live.process.send_signal(signal.SIGTERM)  # stop serving...
                        await anyio.sleep(0.5)
                        live.process.send_signal(signal.SIGINT)  # ...now

                with suppress(Exception):  # the connection drops with the server
                    await s.call_tool("generate_video", SLOW, progress_callback=on_progress)

        anyio.run(go)
        live.process.wait(timeout=60)
        [(job_id, status, deleted_at)] = _jobs(live)
        assert deleted_at is None, f"stopping the server deleted {job_id} ({status})"
