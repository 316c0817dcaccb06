"""Prompt moderation's reading of new prompts, in a child process beside the API's.

Reading a prompt (tokenising it and running the text encoder's fast pass over each of its
windows) is the dearest step of a submit, and in the API's process it competes for the
interpreter lock with everything else the process does: a TorchScript pass takes the lock back
at every op, so request threads and the embedding thread take turns at it. In a child process
the reading runs on another core, and the API's thread that waits for it holds no lock.

The child is `python -m zoetrope.jobs.embedder FD`, with one end of a socket pair. The parent
sends the policy first (so both processes read against the very same exemplars and
thresholds), then lists of windows; the child answers each list with `Moderator.read`'s
readings (near-threshold windows read again in float there, as `read` does anywhere), which the
parent keeps as it keeps its own; the verdicts are the parent's. When the socket closes, the
child exits.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoetrope.safety.moderation import Reading

log = logging.getLogger(__name__)

READY_SECONDS = 600.0  # loading torch and the encoder takes seconds, minutes on a starved machine
READ_SECONDS = 30.0  # a child that takes longer over one batch is stuck: it is stopped


class EmbedderGone(RuntimeError):
    """The child did not answer: it died, failed, or took longer than READ_SECONDS."""


class EmbedderProcess:
    """A child process that reads prompt windows against `policy` (a `Policy`)."""

    def __init__(self, policy) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            argv = [sys.executable, "-m", "zoetrope.jobs.embedder", str(theirs.fileno())]
            self.process = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), stdout=sys.stderr.fileno())
        self._conn = Connection(ours.detach())
        self._lock = threading.Lock()  # one exchange at a time; `stop` closes between them
        self.kind: str | None = None  # the child's fast pass, once it is ready
        self._conn.send(policy.model_dump_json())

    def wait_ready(self, timeout: float = READY_SECONDS) -> str:
        """Block until the child has loaded the encoder; its fast pass (`Moderator.fast_pass`)."""
        self.kind = self._answer(timeout)
        return self.kind

    def read(self, windows: list[str]) -> list[Reading]:
        """`Moderator.read(windows)`, done by the child (near-threshold windows in float there too)."""
        with self._lock:
            if self._conn.closed:
                raise EmbedderGone("the embedder process was stopped")
            try:
                self._conn.send(windows)
            except OSError as exc:
                raise EmbedderGone(f"the embedder process is gone ({exc})") from exc
            return self._answer(READ_SECONDS)

    def _answer(self, timeout: float):
        try:
            if not self._conn.poll(timeout):
                raise EmbedderGone(f"the embedder process did not answer within {timeout:.0f} s")
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise EmbedderGone(f"the embedder process is gone ({exc or type(exc).__name__})") from exc
        if status != "ok":
            raise EmbedderGone(f"the embedder process failed: {value}")
        return value

    def stop(self, timeout: float = 5.0) -> None:
        """End the child (SIGTERM, then SIGKILL after `timeout`) and close the socket. A `read`
        in flight meets the closed socket and raises EmbedderGone."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with self._lock:
            self._conn.close()


def _serve(fd: int) -> None:
    """The child: read the policy, load the encoder, then answer lists of windows until EOF."""
    from zoetrope.model.text import run_small_batches_here
    from zoetrope.safety.moderation import Moderator
    from zoetrope.safety.policy import Policy

    # Ctrl-C reaches the whole process group; the child ends when the API closes its socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    run_small_batches_here()  # on one core (the other is the API's), in this thread: no hand-off
    conn = Connection(fd)
    try:
        moderator = Moderator(Policy.model_validate_json(conn.recv()))
        moderator.read(["warm up"])  # the fast pass chosen and its weights converted
        conn.send(("ok", moderator.fast_pass))
        while True:
            windows = conn.recv()
            try:
                conn.send(("ok", moderator.read(windows)))
            except Exception as exc:  # noqa: BLE001 - the parent reads it and falls back to its own pass
                log.exception("reading %d windows failed", len(windows))
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, OSError):  # the parent closed the socket or died
        return


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="embedder: %(levelname)s %(message)s")
    _serve(int(sys.argv[1]))
