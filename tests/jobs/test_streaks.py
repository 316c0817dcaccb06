"""A loop that retries through an outage logs the streak, not every failure."""

from __future__ import annotations

import logging

from zoetrope.jobs.streaks import FailureStreak


def test_a_hundred_failures_log_one_traceback_and_the_recovery(caplog):
    log = logging.getLogger("zoetrope.test.streaks")
    streak = FailureStreak(log, "heartbeat of video_1", every=3600)
    with caplog.at_level(logging.WARNING, logger=log.name):
        for _ in range(100):
            streak.failed(ConnectionError("connection refused"))
        streak.succeeded()
        streak.succeeded()  # a success with no streak before it says nothing
    records = caplog.records
    assert len(records) == 2, [r.getMessage() for r in records]
    assert records[0].exc_info and "heartbeat of video_1 failed" in records[0].getMessage()
    assert "works again after 100 failures" in records[1].getMessage() and not records[1].exc_info


def test_a_new_kind_of_failure_gets_its_own_traceback(caplog):
    log = logging.getLogger("zoetrope.test.streaks2")
    streak = FailureStreak(log, "webhook sender", every=3600)
    with caplog.at_level(logging.WARNING, logger=log.name):
        streak.failed(ConnectionError("refused"))
        streak.failed(ConnectionError("refused"))
        streak.failed(ValueError("bad row"))
    assert [bool(r.exc_info) for r in caplog.records] == [True, True]
