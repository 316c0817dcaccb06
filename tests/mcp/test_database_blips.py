"""A tool that waits for a job keeps waiting through a moment without the database, and a tool
call made during one says to call again, not "Error executing tool"."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest
from sqlalchemy.exc import OperationalError

from zoetrope.jobs.models import COMPLETED, IN_PROGRESS
from zoetrope.mcp import videos


def test_wait_polls_through_a_database_blip(monkeypatch):
    answers = [OperationalError("SELECT", {}, Exception("connection refused"))] * 3 + [
        SimpleNamespace(id="video_1", status=COMPLETED, progress=100)
    ]

    def get_job(_caller, _video_id):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(videos, "_get_job", get_job)
    monkeypatch.setattr(videos, "POLL_SECONDS", 0.0)
    reports = []

    async def report(progress, message):
        reports.append(message)

    job = SimpleNamespace(id="video_1", status=IN_PROGRESS, progress=40)
    done = anyio.run(videos.wait, None, job, report)
    assert done.status == COMPLETED and answers == [] and reports[-1] == COMPLETED


def test_a_call_during_a_database_blip_is_a_retryable_tool_error(monkeypatch):
    def get_job(_caller, _video_id):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(videos, "_get_job", get_job)
    with pytest.raises(videos.DatabaseUnavailable) as caught:
        anyio.run(videos.get, None, "video_1")
    result = videos.error_result(caught.value)
    assert result.is_error and result.structured_content["error"]["code"] == "service_unavailable"
    assert "again" in result.content[0].text
