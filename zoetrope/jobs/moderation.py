"""Prompt moderation at submit, with the prompts of concurrent submits embedded together.

Moderation embeds each new prompt with the text encoder, the dearest step of a submit. Embedding
the prompts that arrive together in one batch costs about half the CPU of one forward pass each,
and one thread doing every batch keeps torch to one team of compute threads (each thread that
calls torch gets its own). The verdict is still `moderate_prompt`'s, prompt by prompt: the batch
(`Moderator.prefetch`) only reads the texts moderation reads and keeps what each says about each
category, so the checks that follow are lookups (a text the batch missed costs a reading of its
own, never a different decision) and request threads queue for no tensor work.

The embedding thread runs torch on one core, as the text encoder runs every small batch
(`zoetrope.model.text.one_compute_thread`), so a large burst of prompts does too. Under
`zoetrope serve` the batches are read in a child process instead (`use_process`,
`zoetrope.jobs.embedder`), on another core and outside this process's interpreter lock; if
the child fails, this process reads them itself and starts another child a while later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from zoetrope.jobs.embedder import EmbedderGone, EmbedderProcess
from zoetrope.jobs.metrics import PROMPT_EMBEDDER
from zoetrope.model.text import one_compute_thread
from zoetrope.safety import ModerationResult, check_prompt, moderate_prompt
from zoetrope.safety.moderation import get_moderator

log = logging.getLogger(__name__)

RESTART_SECONDS = 30.0  # after a child fails, how long this process reads alone before the next


def use_process() -> None:
    """Read prompts in a child process from now on (started in the background; until it is
    ready, and whenever it fails, this process reads them itself)."""
    _embedder.want_process(True)


def stop_process() -> None:
    """Stop the child process, if any; this process reads prompts itself again."""
    _embedder.want_process(False)


def moderate(*prompts: str, params: list[str] | None = None) -> None:
    """Check each prompt in turn; ModerationBlocked (400) names the category of the first flagged, and
    its field (`params[i]`, e.g. `cards[1].prompt`; `prompt` by default)."""
    _embedder.embed(list(prompts))
    for i, prompt in enumerate(prompts):
        moderate_prompt(prompt, param=params[i] if params else "prompt")


def check(texts: list[str]) -> list[ModerationResult]:
    """What the policy says about each of `texts` (`POST /v1/moderations`), read in one batch."""
    _embedder.embed(texts)
    return [check_prompt(text) for text in texts]


ROUND_WINDOWS = 128  # windows read in one round of the embedding thread: a burst of creates fits one


@dataclass
class _Request:
    windows: list[str]  # still to read
    done: threading.Event


class _Embedder:
    """One daemon thread that embeds whatever prompts are waiting, all in one batch."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[list[str], threading.Event]] = []  # windows still to read
        self._thread: threading.Thread | None = None
        self._wanted = False  # whether a child process should read the batches
        self._child: EmbedderProcess | None = None  # ready to read, when not None
        self._starting = False
        self._next_start = 0.0  # monotonic time before which no child is started

    def embed(self, prompts: list[str]) -> None:
        """Return once what moderation reads of `prompts` is embedded (or their batch failed). Prompts
        read before (a client's retry, a prompt many send) return at once: they neither wait for the
        round the thread is reading nor cost the hand-over to it and back."""
        try:
            windows = get_moderator().unread(prompts)
        except Exception:  # each prompt is still moderated on its own, which raises if it must
            log.warning("reading prompts for their windows failed", exc_info=True)
            return
        if not windows:
            return
        done = threading.Event()
        with self._cond:
            self._waiting.append((windows, done))
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="prompt-embedder", daemon=True)
                self._thread.start()
        done.wait()

    def _run(self) -> None:
        one_compute_thread()
        pending: list[_Request] = []  # requests with windows still to read, in arrival order
        while True:
            with self._cond:
                if not pending:
                    self._cond.wait_for(lambda: bool(self._waiting))
                arrived, self._waiting = self._waiting, []
            pending += (_Request(windows, done) for windows, done in arrived)
            if pending:
                pending = self._read_round(pending)

    def _read_round(self, pending: list[_Request]) -> list[_Request]:
        """Read up to ROUND_WINDOWS windows: a quarter of them for the request waiting longest (so a
        long text always moves on, however many short prompts arrive), the rest for the requests
        with the fewest left, so a prompt that arrives while a long text is being read rides in the
        next round instead of waiting behind all of it. Returns the requests with windows unread."""
        oldest = pending[0]
        chosen = oldest.windows[: ROUND_WINDOWS // 4]
        oldest.windows = oldest.windows[len(chosen) :]
        for request in sorted(pending, key=lambda r: len(r.windows)):
            take = request.windows[: ROUND_WINDOWS - len(chosen)]
            request.windows = request.windows[len(take) :]
            chosen += take
            if len(chosen) >= ROUND_WINDOWS:
                break
        try:
            self._prefetch(list(dict.fromkeys(chosen)))
        except Exception:  # each prompt is still moderated on its own, which raises if it must
            log.warning("batched prompt embedding failed", exc_info=True)
        left = []
        for request in pending:
            if request.windows:
                left.append(request)
            else:
                request.done.set()
        return left

    def _prefetch(self, windows: list[str]) -> None:
        moderator = get_moderator()
        child = self._child_or_start()
        if child is not None:
            try:
                moderator.remember(windows, child.read(windows))
                return
            except EmbedderGone as exc:
                log.warning("%s; reading prompts in the API's process for %.0f s", exc, RESTART_SECONDS)
                self._drop(child)
        moderator.remember(windows, moderator.read(windows))

    def _child_or_start(self) -> EmbedderProcess | None:
        with self._cond:
            start = (
                self._wanted
                and self._child is None
                and not self._starting
                and time.monotonic() >= self._next_start
            )
            self._starting = self._starting or start
            child = self._child
        if start:
            threading.Thread(target=self._start, name="embedder-start", daemon=True).start()
        return child

    def _start(self) -> None:
        child = None
        try:
            child = EmbedderProcess(get_moderator().policy)
            child.wait_ready()
        except Exception as exc:  # noqa: BLE001 - whatever stops a child, this process reads prompts itself
            log.warning("the embedder process did not start (%s); the API's process reads prompts", exc)
            if child is not None:
                child.stop()
            child = None
        with self._cond:
            self._starting = False
            if child is not None and self._wanted and self._child is None:
                self._child, child = child, None
                PROMPT_EMBEDDER.set(1)
            elif child is None:
                self._next_start = time.monotonic() + RESTART_SECONDS
        if child is not None:  # no longer wanted
            child.stop()

    def _drop(self, child: EmbedderProcess) -> None:
        with self._cond:
            if self._child is child:
                self._child = None
                PROMPT_EMBEDDER.set(0)
                self._next_start = time.monotonic() + RESTART_SECONDS
        child.stop(timeout=1.0)

    def want_process(self, wanted: bool) -> None:
        with self._cond:
            self._wanted, child = wanted, None
            if not wanted:
                child, self._child = self._child, None
                PROMPT_EMBEDDER.set(0)
            self._next_start = 0.0
        if child is not None:
            child.stop()
        if wanted:
            self._child_or_start()


_embedder = _Embedder()
