"""Prompt moderation at submit, with the prompts of concurrent submits embedded together.

Moderation embeds each new prompt with the text encoder, the dearest step of a submit. Embedding
the prompts that arrive together in one batch costs about half the CPU of one forward pass each,
and one thread doing every batch keeps torch to one team of compute threads (each thread that
calls torch gets its own). The verdict is still `moderate_prompt`'s, prompt by prompt: the batch
only fills the encoder's cache with the texts moderation embeds (the normalised prompt, whole and
by sentence), so a text the batch missed costs an encode of its own, never a different decision.
"""

from __future__ import annotations

import logging
import re
import threading

from zoetrope.safety import moderate_prompt
from zoetrope.safety.normalize import normalize

log = logging.getLogger(__name__)

_SENTENCES = re.compile(r"[.;!?\n]+")  # where moderation cuts a prompt into sentences


def moderate(*prompts: str) -> None:
    """Check each prompt in turn; ModerationBlocked (400) names the category of the first flagged."""
    _embedder.embed([t for prompt in prompts for t in _embedded_texts(prompt)])
    for prompt in prompts:
        moderate_prompt(prompt)


def _embedded_texts(text: str) -> list[str]:
    sentences = (normalize(s) for s in _SENTENCES.split(text))
    return list(dict.fromkeys(t for t in (normalize(text), *sentences) if t))


class _Embedder:
    """One daemon thread that embeds whatever texts are waiting, all in one batch."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[list[str], threading.Event]] = []
        self._thread: threading.Thread | None = None

    def embed(self, texts: list[str]) -> None:
        """Return once `texts` are in the text encoder's cache (or their batch failed)."""
        done = threading.Event()
        with self._cond:
            self._waiting.append((texts, done))
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prompt-embedder", daemon=True)
                self._thread.start()
        done.wait()

    def _run(self) -> None:
        from zoetrope.model.text import get_text_encoder

        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._waiting))
                batch, self._waiting = self._waiting, []
            try:
                get_text_encoder().encode(list(dict.fromkeys(t for texts, _ in batch for t in texts)))
            except Exception:  # each prompt is still moderated on its own, which raises if it must
                log.warning("batched prompt embedding failed", exc_info=True)
            finally:
                for _, done in batch:
                    done.set()


_embedder = _Embedder()
