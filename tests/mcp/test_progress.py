"""Progress notifications of a waiting tool call: each one's value above the last, as MCP requires."""

from __future__ import annotations

from types import SimpleNamespace

import anyio

from tests.mcp.live import http_session
from zoetrope.jobs.models import COMPLETED, IN_PROGRESS, QUEUED
from zoetrope.mcp import videos


def test_progress_only_rises_through_a_status_change_and_a_retry(monkeypatch):
    seen = [
        (IN_PROGRESS, 0),
        (IN_PROGRESS, 40),
        (QUEUED, 0),
        (IN_PROGRESS, 0),
        (IN_PROGRESS, 60),
        (COMPLETED, 100),
    ]
    answers = [SimpleNamespace(id="video_1", status=status, progress=progress) for status, progress in seen]
    monkeypatch.setattr(videos, "_get_job", lambda _caller, _video_id: answers.pop(0))
    monkeypatch.setattr(videos, "POLL_SECONDS", 0.0)
    reports: list[tuple[float, str]] = []

    async def report(progress, message):
        reports.append((progress, message))

    job = SimpleNamespace(id="video_1", status=QUEUED, progress=0)
    done = anyio.run(videos.wait, None, job, report)
    values = [value for value, _ in reports]
    assert done.status == COMPLETED and answers == []
    assert values == [0, 40, 60, 100] and reports[-1][1] == COMPLETED, reports


def test_a_live_generation_sends_rising_progress(server):
    values: list[float] = []

    async def on_progress(value, total, message):
        values.append(value)

    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            return await s.call_tool(
                "generate_video",
                {"prompt": "a green ball rolls left", "seconds": 2, "size": "64x64"},
                progress_callback=on_progress,
            )

    result = anyio.run(go)
    assert not result.is_error, result.content
    assert values and values[-1] == 100 and all(a < b for a, b in zip(values, values[1:], strict=False)), (
        values
    )
