"""Prompt moderation reading new prompts in a child process (`zoetrope.jobs.embedder`): the child
reads against the parent's policy as closely as the parent's own fast pass does, so verdicts do
not change; a child that dies or hangs costs no verdict, and another one takes over."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from zoetrope.errors import ModerationBlocked
from zoetrope.jobs import moderation
from zoetrope.jobs.embedder import EmbedderGone, EmbedderProcess
from zoetrope.safety import check_prompt
from zoetrope.safety.moderation import EXACT_WITHIN, Moderator, _windows, get_moderator

LABELLED = [
    json.loads(line)["text"]
    for line in (Path(__file__).parents[1] / "data" / "moderation_eval.jsonl").read_text().splitlines()
][::5]
# Each test reads prompts no other test has, so the process-wide moderator has not read them yet.
BLOCKED = "a butcher knifes his neighbour in the throat, blood sprays everywhere"


@pytest.fixture(scope="module")
def child():
    process = EmbedderProcess(get_moderator().policy)
    process.wait_ready()
    yield process
    process.stop()


def _wait_for(condition, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_the_child_reads_like_the_float_model_and_reads_close_calls_in_float(child):
    parent = get_moderator()
    windows = list(dict.fromkeys(w for prompt in LABELLED for w in _windows(prompt)))
    remote = child.read(windows)
    exact = parent._read(windows, parent._encoder.embed(windows))  # the float pass, which decides close calls
    settled = 0
    for reading, float_reading in zip(remote, exact, strict=True):
        worst = max(abs(r[0] - e[0]) for r, e in zip(reading, float_reading, strict=True))
        if worst < 1e-5:  # read in float: exactly the float reading
            settled += 1
        else:  # a fast reading: within half its margin of the float one, and not close to flagging
            within = EXACT_WITHIN[child.kind]
            assert worst < within / 2
            assert max(r[0] for r in reading) <= -within
    assert settled >= 20  # the labelled set's harmful prompts sit near or past their thresholds


def test_verdicts_from_the_childs_readings_are_the_ones_given_alone(child):
    fresh = Moderator(get_moderator().policy)  # has read nothing yet
    windows = fresh.unread(LABELLED)
    fresh.remember(windows, child.read(windows))
    assert fresh.unread(LABELLED) == []
    got = [(r.flagged, r.category) for r in map(fresh.check, LABELLED)]
    alone = [(r.flagged, r.category) for r in map(check_prompt, LABELLED)]
    assert got == alone
    assert sum(flagged for flagged, _ in got) >= 20  # the sample holds harmful prompts, and they are refused


def test_a_stopped_child_raises_embedder_gone_and_a_closed_socket_ends_it(monkeypatch):
    process = EmbedderProcess(get_moderator().policy)
    process.wait_ready()
    monkeypatch.setattr("zoetrope.jobs.embedder.READ_SECONDS", 0.5)
    os.kill(process.process.pid, signal.SIGSTOP)  # hung: it answers nothing
    started = time.monotonic()
    with pytest.raises(EmbedderGone, match="did not answer"):
        process.read(["a red ball rolls"])
    assert time.monotonic() - started < 10
    process.stop(timeout=0.5)
    assert process.process.returncode is not None
    with pytest.raises(EmbedderGone, match="stopped"):
        process.read(["a red ball rolls"])

    orphan = EmbedderProcess(get_moderator().policy)
    orphan.wait_ready()
    os.kill(orphan.process.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: the API stops it
    assert orphan.read(["a red ball rolls"]) and orphan.process.poll() is None
    orphan._conn.close()  # as when the API's process dies
    assert orphan.process.wait(timeout=30) == 0


def _verdict(prompt: str) -> str | None:
    try:
        moderation.moderate(prompt)
    except ModerationBlocked as e:
        return e.category
    return None


def test_when_the_child_dies_this_process_reads_and_another_child_takes_over(monkeypatch):
    monkeypatch.setattr(moderation, "RESTART_SECONDS", 0.0)
    moderation.use_process()
    try:
        first = _wait_for(lambda: moderation._embedder._child)
        calls: list[list[str]] = []
        read = first.read
        monkeypatch.setattr(first, "read", lambda windows: calls.append(windows) or read(windows))
        assert _verdict("a koi pond under paper lanterns, soft pastel colors") is None
        assert calls  # the child read it

        first.process.kill()  # the next prompt that needs reading finds it gone
        first.process.wait()
        assert _verdict(BLOCKED) == check_prompt(BLOCKED).category is not None  # read here instead
        assert moderation._embedder._child is not first

        moderation.moderate("a snow owl on a fence post")  # no child yet: this one starts the next
        second = _wait_for(lambda: moderation._embedder._child)
        assert second is not first and second.process.poll() is None
        assert _verdict("a vintage tram climbs a hill at dusk") is None
    finally:
        moderation.stop_process()
    assert moderation._embedder._child is None
    assert second.process.poll() is not None  # stopped with the API


def test_a_child_that_cannot_start_leaves_this_process_reading(monkeypatch):
    def cannot_start(policy):
        raise ValueError("no child processes here")

    monkeypatch.setattr(moderation, "EmbedderProcess", cannot_start)
    moderation.use_process()
    try:
        assert _verdict("a lighthouse keeper paints the door blue at noon") is None
        _wait_for(lambda: not moderation._embedder._starting, timeout=30)
        assert moderation._embedder._child is None
        assert moderation._embedder._next_start > time.monotonic()  # the next try waits RESTART_SECONDS
        kitchen = BLOCKED + ", in the kitchen"
        assert _verdict(kitchen) == check_prompt(kitchen).category is not None
    finally:
        moderation.stop_process()
