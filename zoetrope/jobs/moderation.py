"""Prompt moderation at submit, with the prompts of concurrent submits embedded together.

Moderation embeds each new prompt with the text encoder, the dearest step of a submit. Embedding
the prompts that arrive together in one batch costs about half the CPU of one forward pass each,
and one thread doing every batch keeps torch to one team of compute threads (each thread that
calls torch gets its own). The verdict is still `moderate_prompt`'s, prompt by prompt: the batch
(`Moderator.prefetch`) only reads the texts moderation reads and keeps what each says about each
category, so the checks that follow are lookups (a text the batch missed costs a reading of its
own, never a different decision) and request threads queue for no tensor work.

The embedding thread runs torch on one core, as the text encoder runs every small batch
(`zoetrope.model.text.one_compute_thread`), so a large burst of prompts does too.
"""

from __future__ import annotations

import logging
import threading

from zoetrope.model.text import one_compute_thread
from zoetrope.safety import moderate_prompt
from zoetrope.safety.moderation import get_moderator

log = logging.getLogger(__name__)


def moderate(*prompts: str) -> None:
    """Check each prompt in turn; ModerationBlocked (400) names the category of the first flagged."""
    _embedder.embed(list(prompts))
    for prompt in prompts:
        moderate_prompt(prompt)


class _Embedder:
    """One daemon thread that embeds whatever prompts are waiting, all in one batch."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[list[str], threading.Event]] = []
        self._thread: threading.Thread | None = None

    def embed(self, prompts: list[str]) -> None:
        """Return once what moderation reads of `prompts` is embedded (or their batch failed)."""
        done = threading.Event()
        with self._cond:
            self._waiting.append((prompts, done))
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prompt-embedder", daemon=True)
                self._thread.start()
        done.wait()

    def _run(self) -> None:
        one_compute_thread()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._waiting))
                batch, self._waiting = self._waiting, []
            try:
                get_moderator().prefetch([prompt for prompts, _ in batch for prompt in prompts])
            except Exception:  # each prompt is still moderated on its own, which raises if it must
                log.warning("batched prompt embedding failed", exc_info=True)
            finally:
                for _, done in batch:
                    done.set()


_embedder = _Embedder()
