"""Prompt moderation at submit: prompts of concurrent submits are embedded together, and each
still gets the verdict `check_prompt` gives it alone."""

from __future__ import annotations

import threading
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
