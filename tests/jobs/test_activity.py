"""Renders that give way to requests (`zoetrope.jobs.activity`): the API marks when requests
begin and end; the worker's render thread waits at its pause points until the API is quiet."""

from __future__ import annotations

import asyncio
import os
import time
from importlib import resources

import pytest
from sqlalchemy import select

from tests.jobs.test_worker_idle import PolicyBackend, _submit  # noqa: F401 - the backend is loaded by name
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs.activity import HOLD, RECENT, Activity, ActivityMiddleware, QuietWaiter, waiter_from_env
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore


class FakeTime:
    """A monotonic clock in seconds that only `sleep` moves; `on_sleep` runs after each sleep."""

    def __init__(self, now: float) -> None:
        self.now, self.slept, self.on_sleep = now, [], None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep()


def _setup(tmp_path, now: float) -> tuple[Activity, QuietWaiter, FakeTime]:
    activity = Activity(tmp_path / "run" / "activity")
    fake = FakeTime(now)
    return activity, QuietWaiter(activity.path, clock=fake.clock, sleep=fake.sleep), fake


def test_with_no_request_in_flight_a_render_does_not_wait(tmp_path):
    activity, waiter, fake = _setup(tmp_path, now=100.0)
    activity.begin(at_ns=int(99.99 * 1e9))
    activity.end()  # a poll came and went
    waiter.wait()
    assert fake.slept == []


def test_a_render_waits_while_a_flow_of_requests_is_answered(tmp_path):
    activity, waiter, fake = _setup(tmp_path, now=100.0)
    activity.begin(at_ns=int(99.99 * 1e9))

    def answered():
        if fake.now >= 100.05:
            activity.end()

    fake.on_sleep = answered
    waiter.wait()
    assert 0.05 <= sum(fake.slept) < 0.06  # until the request was answered


def test_one_long_request_does_not_hold_renders(tmp_path):
    activity, waiter, fake = _setup(tmp_path, now=100.0)
    activity.begin(at_ns=int((100.0 - RECENT - 0.01) * 1e9))  # a download that began a while ago
    waiter.wait()
    assert fake.slept == []


def test_under_steady_requests_a_render_waits_at_most_hold_at_a_point(tmp_path):
    activity, waiter, fake = _setup(tmp_path, now=100.0)
    activity.begin(at_ns=int(100.0 * 1e9))
    fake.on_sleep = lambda: activity.begin(at_ns=int(fake.now * 1e9))  # another request every look
    waiter.wait()
    assert sum(fake.slept) == pytest.approx(HOLD)


def test_the_middleware_counts_each_http_request_while_it_is_answered(tmp_path):
    activity = Activity(tmp_path / "activity")
    reader = QuietWaiter(activity.path)
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["type"], reader.state()[0]))
        await asyncio.sleep(0.01)

    middleware = ActivityMiddleware(app, activity)
    before = time.monotonic()

    async def two_at_once():
        await asyncio.gather(middleware({"type": "http"}, None, None), middleware({"type": "http"}, None, None))

    asyncio.run(two_at_once())
    in_flight, began = reader.state()
    assert [count for _, count in seen] == [1, 2]  # each counted as it began
    assert in_flight == 0 and began >= before  # and uncounted as it ended
    asyncio.run(middleware({"type": "lifespan"}, None, None))
    assert seen[-1] == ("lifespan", 0) and reader.state() == (0, began)  # not a request


def test_a_worker_is_told_where_its_api_counts_requests(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOETROPE_API_ACTIVITY", raising=False)
    assert waiter_from_env() is None  # `zoetrope worker` on its own: never waits
    activity = Activity(tmp_path / "activity")
    monkeypatch.setenv("ZOETROPE_API_ACTIVITY", str(activity.path))
    activity.begin()
    in_flight, began = waiter_from_env().state()
    assert in_flight == 1 and abs(began - time.monotonic()) < 5


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="renders on the idle-class thread, Linux's")
def test_a_worker_render_gives_way_at_each_progress_step_and_release_stage(tmp_path):
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(defaults + '\n[[models]]\nname = "policy-test"\nbackend = "tests.jobs.test_worker_idle:PolicyBackend"\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    upgrade(engine)

    class Counting:
        calls = 0

        def wait(self) -> None:
            Counting.calls += 1

    worker = Worker(engine, Registry(load_config(config)), BlobStore(str(tmp_path / "blobs")),
                    DispatchPolicy(lease_seconds=30), idle_compute=True, yield_to=Counting())  # fmt: skip
    job_id = _submit(engine, "a")
    assert worker.run_once()
    with transaction(engine) as s:
        job = s.scalars(select(Job).where(Job.id == job_id)).one()
        assert job.status == "completed"
    # One progress step, eight frames through the output check, and the stages after it.
    assert Counting.calls >= 1 + 8 + 3
    engine.dispose()
