"""Prompt moderation at submit: prompts of concurrent submits are embedded together, and each
still gets the verdict `check_prompt` gives it alone."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from zoetrope.errors import ModerationBlocked
from zoetrope.jobs.moderation import moderate
from zoetrope.model.text import one_compute_thread
from zoetrope.safety import check_prompt

BENIGN = [
    "a paper boat drifts slowly on a calm lake at dawn",
    "a red fox runs across a snowy field. The camera follows it",
    "close-up of a glass teapot; steam rises in soft light",
    "a hot air balloon rises over a lavender farm at golden hour",
]
BLOCKED = "a man stabs another man in the throat, blood everywhere"


def _verdict(prompt: str) -> str | None:
    try:
        moderate(prompt)
    except ModerationBlocked as e:
        return e.category
    return None


def test_concurrent_prompts_get_the_verdicts_they_get_alone():
    prompts = [*BENIGN, BLOCKED] * 3
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(_verdict, prompts))
    assert verdicts == [check_prompt(p).category for p in prompts]
    assert verdicts[len(BENIGN)] is not None  # the harmful prompt is refused, naming its category


def test_each_prompt_of_a_storyboard_is_checked_in_turn():
    moderate(*BENIGN)
    with pytest.raises(ModerationBlocked):
        moderate(BENIGN[0], BLOCKED, BENIGN[1])


def test_the_embedding_thread_runs_on_one_core_and_leaves_other_threads_default():
    default = torch.get_num_threads()
    seen = {}

    def embedding_thread():
        one_compute_thread()
        seen["embedder"] = torch.get_num_threads()

    def later_thread():
        seen["later"] = torch.get_num_threads()

    for target in (embedding_thread, later_thread):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert seen == {"embedder": 1, "later": default}
    assert torch.get_num_threads() == default


def test_a_short_prompt_is_read_in_the_next_round_not_after_a_long_text():
    """A long `/v1/moderations` text is read a round at a time, fewest windows first: a submit's
    prompt that arrives meanwhile is read in the next round instead of after all of the text."""
    from zoetrope.jobs import moderation

    rounds: list[list[str]] = []

    class Recording(moderation._Embedder):
        def _prefetch(self, windows: list[str]) -> None:
            rounds.append(windows)

    embedder = Recording()
    long = moderation._Request(
        [f"long window {i}" for i in range(5 * moderation.ROUND_WINDOWS)], threading.Event()
    )
    pending = embedder._read_round([long])  # the text's first round
    short = moderation._Request(["a kite over a windy beach"], threading.Event())
    pending = embedder._read_round([*pending, short])
    assert short.done.is_set() and "a kite over a windy beach" in rounds[1] and not long.done.is_set()
    assert all(len(r) <= moderation.ROUND_WINDOWS for r in rounds)
    while pending:
        pending = embedder._read_round(pending)
    assert long.done.is_set() and sum(map(len, rounds)) == 5 * moderation.ROUND_WINDOWS + 1


def test_a_long_text_moves_on_however_many_short_prompts_keep_arriving():
    from zoetrope.jobs import moderation

    class Quiet(moderation._Embedder):
        def _prefetch(self, windows: list[str]) -> None:
            pass

    embedder = Quiet()
    long = moderation._Request([f"long {i}" for i in range(10 * moderation.ROUND_WINDOWS)], threading.Event())
    pending = [long]
    for round_ in range(50):  # each round, a burst of short prompts that alone would fill it
        burst = [
            moderation._Request([f"short {round_} {i}"], threading.Event())
            for i in range(moderation.ROUND_WINDOWS)
        ]
        pending = embedder._read_round([*pending, *burst])
    assert long.done.is_set()  # a quarter of every round was the long text's


def test_a_prompt_read_before_does_not_wait_for_the_round_being_read():
    """A retry, or a prompt many clients send, is answered from what was read before: it is not
    held until the embedding thread has read a round of other prompts (a long text's, say)."""
    from zoetrope.jobs import moderation

    moderate(BENIGN[0])  # read once
    reading, release = threading.Event(), threading.Event()

    class Slow(moderation._Embedder):
        def _prefetch(self, windows: list[str]) -> None:
            reading.set()
            release.wait(60)

    embedder = Slow()
    other = threading.Thread(target=embedder.embed, args=([f"a lighthouse in a storm {uuid.uuid4().hex}"],))
    other.start()
    try:
        assert reading.wait(60)  # the thread is reading another request's round
        again = threading.Thread(target=embedder.embed, args=([BENIGN[0]],))
        again.start()
        again.join(10)
        assert not again.is_alive()
    finally:
        release.set()
        other.join(60)
