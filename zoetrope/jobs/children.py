"""The workers of `zoetrope serve` and `zoetrope mcp`, in a child process of their own.

Worker threads in the API's process share its interpreter lock: generation, encoding and frame
checks run Python between their native calls, and every request thread queued behind them for
the lock (200 distinct-prompt creates a second on 2 cores, with the worker rendering the
backlog: create p50 247 ms with the worker in-process, 108-139 ms with it in a child). In a
child, the worker is also one the operating system can rank below the API (`WORKER_NICENESS`),
which it cannot do for the lock.

The child is `zoetrope worker` on the same settings. A pipe carries what the API's process
knows first: a job was queued (the child's workers claim it at once instead of at their next
poll) and a running job was deleted (it stops at its next step instead of at its next
heartbeat). When the pipe closes, because the parent stopped or died, the child finishes its
running jobs and exits.

Metrics: the parent sets `PROMETHEUS_MULTIPROC_DIR` (before `prometheus_client` is imported) so
that the API's `/metrics` reports what the child's workers record.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

WAKE_FD = "ZOETROPE_WAKE_FD"  # the read end of the parent's pipe, in the child's environment
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# How much lower than the API the workers run (Linux nice steps, and the idle scheduling class):
# generation is throughput work that can wait a few milliseconds, requests are not.
WORKER_NICENESS = 10
# A worker child that died is started again after this many seconds, doubling up to the most while
# children keep dying within that time of their start.
RESTART_SECONDS = 1.0
RESTART_BACKOFF_MAX = 60.0


def lower_priority(niceness: int, idle: bool = False) -> None:
    """Run every thread of this process `niceness` steps below normal CPU priority (Linux: per
    thread); with `idle`, every thread but the caller also in the idle scheduling class.

    `os.nice` lowers only the calling thread (and the threads it starts later); threads that
    native libraries started at import keep normal priority. numpy's OpenBLAS starts one when it
    loads, and in the worker it did about 40 % of the process's work at the API's priority
    (per-thread CPU while it rendered stub jobs on 2 cores). So each thread already running is
    lowered too.

    A niced thread still holds its core until its time slice ends when a request thread wakes;
    an idle-class thread (`idle_class`) gives it up at once and runs only on time no normal
    thread wants. The caller, and the threads it starts later, stay in the normal class: they
    write the database, and on SQLite a writer holds the one write lock that the API's creates
    wait for, so it must not wait for a core while it holds it (an unprivileged thread cannot
    leave the idle class again); the worker renders on threads of its own in the idle class
    (`Worker(idle_compute=True)`). With the worker rendering a backlog, 200 distinct-prompt
    creates a second on 2 cores had p99 51-228 ms at nice 10 alone, 53-216 ms with every thread
    idle (the API waited up to 180 ms for an idle writer's lock) and 37-71 ms with renders alone
    idle (the README's API section has the runs).
    Where the system has no idle class, `idle` does nothing more. OSError where the system refuses."""
    os.nice(niceness)
    mine = os.getpriority(os.PRIO_PROCESS, 0)  # the calling thread's, on Linux
    me = threading.get_native_id()
    tasks = Path("/proc/self/task")
    for tid in (int(t.name) for t in tasks.iterdir()) if tasks.is_dir() else ():
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < mine:
                os.setpriority(os.PRIO_PROCESS, tid, mine)
            if idle and tid != me:
                idle_class(tid)
        except (ProcessLookupError, PermissionError):  # ended meanwhile, or not ours to change
            continue


def idle_class(tid: int = 0) -> bool:
    """Put thread `tid` (0: the calling one, and the threads it starts later) in the idle
    scheduling class (Linux `SCHED_IDLE`); False where the system has none."""
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:
        return False
    os.sched_setscheduler(tid, policy, os.sched_param(0))
    return True


def share_metrics(data_dir: Path) -> Path | None:
    """Have this process and its children write metrics to one fresh folder (call before anything
    imports `prometheus_client`); None when the environment names a folder already."""
    if os.environ.get(METRICS_DIR):
        return None
    run = Path(data_dir) / "run"
    for stale in run.glob("metrics-*"):  # left by a server that was killed
        pid = stale.name.removeprefix("metrics-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    folder = run / f"metrics-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[METRICS_DIR] = str(folder)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class WorkerProcess:
    """`count` workers in a child `zoetrope worker` process, told of new jobs and deletions. A child
    that dies (the out-of-memory killer, a crash) is started again after a backoff, and said so: its
    jobs go back to the queue when their leases expire and the new child runs them."""

    def __init__(self, count: int) -> None:
        # Here, not at the top: `worker` imports prometheus_client, which `share_metrics` must precede.
        from zoetrope.jobs import dispatch, worker

        self._count = count
        self._lock = threading.Lock()
        self._write_fd = -1
        self._stopping = threading.Event()
        self.process = self._spawn()
        self._unhook: list[Callable[[], None]] = [
            dispatch.doorbell.forward(lambda: self._send("job")),
            worker.forward_cancels(lambda job_id: self._send(f"cancel {job_id}")),
        ]
        self._watcher = threading.Thread(target=self._watch, name="worker-process-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> subprocess.Popen:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, WAKE_FD: str(read_fd)}
        argv = [sys.executable, "-m", "zoetrope", "worker", "--workers", str(self._count),
                "--niceness", str(WORKER_NICENESS), "--idle"]  # fmt: skip
        # Its output goes to our stderr: `zoetrope mcp` speaks its protocol on stdout.
        process = subprocess.Popen(argv, pass_fds=(read_fd,), env=env, stdout=sys.stderr.fileno())
        os.close(read_fd)
        os.set_blocking(write_fd, False)
        with self._lock:
            if self._write_fd >= 0:
                os.close(self._write_fd)
            self._write_fd = write_fd
            if self._stopping.is_set():  # `stop` came meanwhile: this child finishes at once too
                os.close(write_fd)
                self._write_fd = -1
        return process

    def _watch(self) -> None:
        """Wait for the child (so a dead one is reaped, not left a zombie); start another one if it
        ended while this process still wants workers, after a backoff that doubles while children
        keep dying young."""
        backoff = RESTART_SECONDS
        while True:
            started = time.monotonic()
            code = self.process.wait()
            if code == 0:  # it was told to stop (SIGTERM, or Ctrl-C in this terminal): so are we, likely
                if not self._stopping.wait(5.0):
                    log.warning("worker process %d was stopped; this server runs no workers now", self.process.pid)
                return
            if self._stopping.is_set():
                return
            if time.monotonic() - started > RESTART_BACKOFF_MAX:  # it ran a good while: start over
                backoff = RESTART_SECONDS
            why = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            if code == -signal.SIGKILL:
                why += " (the out-of-memory killer, or kill -9)"
            log.warning("worker process %d %s; starting another in %.0f s (its jobs go back to the queue "
                        "when their leases expire)", self.process.pid, why, backoff)
            if self._stopping.wait(backoff):
                return
            try:
                self.process = self._spawn()
            except OSError as e:
                log.warning("could not start a worker process: %s; trying again", e)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX)

    def _send(self, line: str) -> None:
        with self._lock:
            if self._write_fd < 0:
                return
            try:
                os.write(self._write_fd, f"{line}\n".encode())
            except BlockingIOError:  # a full pipe of news: the child has plenty to read already
                pass
            except OSError:  # the child is gone; `_watch` starts another
                pass

    def stop(self, timeout: float | None = None) -> None:
        """Close the pipe (the child finishes its running jobs, then exits, as `zoetrope worker` does
        on SIGTERM); kill it after `timeout` seconds (None: wait for it)."""
        self._stopping.set()
        for unhook in self._unhook:
            unhook()
        with self._lock:
            if self._write_fd >= 0:
                os.close(self._write_fd)
                self._write_fd = -1
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("worker process %d did not stop within %.0f s; killing it", self.process.pid, timeout)
            self.process.kill()
            self.process.wait()

    def hurry(self) -> None:
        """Have the child stop at once, giving its running jobs back to the queue (a second SIGTERM)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def listen_to_parent(fd: int, on_job: Callable[[], None], on_cancel: Callable[[str], None], on_close: Callable[[], None]) -> threading.Thread:
    """In the child: a thread that reads the parent's pipe until it closes."""

    def run() -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            for raw in iter(pipe.readline, b""):
                line = raw.decode(errors="replace").strip()
                if line == "job":
                    on_job()
                elif line.startswith("cancel "):
                    on_cancel(line.removeprefix("cancel "))
        on_close()

    thread = threading.Thread(target=run, name="parent-pipe", daemon=True)
    thread.start()
    return thread
