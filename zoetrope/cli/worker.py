"""`zoetrope worker`: workers only, for machines that share the database and blob store."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

from zoetrope.cli import app
from zoetrope.errors import ConfigError, InvalidRequest, ZoetropeError
from zoetrope.settings import get_settings

console = Console()


@app.command()
def worker(
    workers: int = typer.Option(
        None, "--workers", "-n", min=1, help="worker threads (default ZOETROPE_WORKERS or 1)"
    ),
    model: list[str] = typer.Option(None, "--model", help="serve only this model (repeatable); default all"),
    backend: list[str] = typer.Option(
        None, "--backend", help="serve only models of this backend kind, e.g. wan, ltx, bundled (repeatable)"
    ),
    niceness: int = typer.Option(0, min=0, max=19, help="run this many nice steps below normal CPU priority"),
    idle: bool = typer.Option(
        False,
        "--idle",
        help="render in the idle scheduling class (Linux SCHED_IDLE), on CPU time nothing else wants; "
        "database writes keep the normal class; what `serve` does",
    ),
    metrics_port: int = typer.Option(
        None, min=1, max=65535,
        help="serve this worker's Prometheus metrics (job latency, step time...) at http://HOST:PORT/metrics",
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="the interface --metrics-port listens on"),
) -> None:
    """Run workers that claim jobs from ZOETROPE_DATABASE_URL and write to ZOETROPE_BLOB_URL."""
    s = get_settings()  # a setting it does not take is refused at once, before torch loads (seconds)
    import os

    from zoetrope import heap
    from zoetrope.jobs import activity, children, dispatch
    from zoetrope.jobs.runtime import open_runtime
    from zoetrope.jobs.webhooks import unsigned_warning
    from zoetrope.jobs.worker import Worker, new_worker_id, signal_cancel, start_workers
    from zoetrope.safety.keys import signing_identity

    if niceness or idle:
        try:  # every thread: those started later take the priority of the thread that starts them
            children.lower_priority(niceness, idle)
        except OSError:
            console.print(f"could not lower this process's priority by {niceness}; running at normal priority")
    heap.watch()
    signing_identity()  # signing files that do not lead to their root: refused now, not after a render
    runtime = open_runtime(s)
    count = s.workers if workers is None else workers
    try:
        models = [runtime.registry.canonical(m) for m in model] if model else None
    except ZoetropeError as e:  # the option as typed, not the API's field
        e.param = "--model"
        raise
    if backend:
        kinds = {e.model: e.backend_kind for e in runtime.registry.listings()}
        chosen = sorted({name for name, kind in kinds.items() if kind in backend})
        if not chosen:
            known = ", ".join(sorted(set(kinds.values())))
            raise InvalidRequest(
                f"no configured model uses backend {', '.join(backend)}; configured: {known}", param="--backend"
            )
        models = sorted(set(models or []) | set(chosen))
    # A model this machine lacks the weights for is left to workers that have them, and said so.
    models, missing = runtime.registry.servable(models or runtime.registry.model_names())
    for name, why in missing.items():
        console.print(f"not serving {name} here: {why}", style="yellow", soft_wrap=True)
    if not models:
        raise ConfigError("no model this worker would serve can run on this machine (see above)",
                          param="--model" if model or backend else None)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from zoetrope.cli.serve import check_bindable

        check_bindable(metrics_host, metrics_port, option="--metrics-port")
        start_http_server(metrics_port, addr=metrics_host)
    proto = Worker(
        runtime.engine,
        runtime.registry,
        runtime.blobs,
        runtime.policy,
        worker_id=new_worker_id(),
        models=models,
        idle_compute=idle,
        settle_heap=True,
        yield_to=activity.waiter_from_env(),
    )
    runtime.threads += start_workers(proto, max(1, count), runtime.stop)
    runtime.listen_for_jobs()
    runtime.start(0, webhook_secret=s.webhook_secret)
    done, hurry = threading.Event(), threading.Event()

    def stop_requested(*_) -> None:  # the first SIGTERM/SIGINT finishes the jobs, the next one stops now
        (hurry if done.is_set() else done).set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_requested)
    if (fd := os.environ.pop(children.WAKE_FD, None)) is not None:  # started by serve or mcp
        children.listen_to_parent(int(fd), dispatch.doorbell.ring, signal_cancel, done.set)
    console.print(
        f"worker {proto.worker_id}: {max(1, count)} thread(s) on {s.resolved_database_url.split('@')[-1]}"
    )
    if fd is None and (warning := unsigned_warning(s.webhook_secret, s.webhook_url)):  # serve warns for its child
        console.print(warning, style="yellow")
    done.wait()
    _finish(runtime, proto.worker_id, hurry, s.stop_grace_seconds)


def _finish(runtime, worker_id: str, hurry: threading.Event, grace: float | None) -> None:
    """Claim nothing more and wait for the running jobs; on a second signal, or after `grace`
    seconds, give them back to the queue at once (another worker takes them now) and exit."""
    import time

    from zoetrope.jobs import dispatch
    from zoetrope.jobs.worker import give_back, signal_cancel

    runtime.stop.set()
    dispatch.doorbell.ring()  # idle workers see the stop now, not at their next poll
    workers = [t for t in runtime.threads if t.name.startswith("worker-")]
    if any(t.is_alive() for t in workers):
        limit = "" if grace is None else f" for up to {grace:g} s (ZOETROPE_STOP_GRACE_SECONDS)"
        console.print(f"stopping: finishing running jobs{limit}; SIGTERM or Ctrl-C again stops now and gives "
                      "them back to the queue", soft_wrap=True)
    deadline = None if grace is None else time.monotonic() + grace
    while any(t.is_alive() for t in workers):
        if hurry.wait(0.2) or (deadline is not None and time.monotonic() >= deadline):
            ids = give_back(runtime.engine, worker_id)
            for job_id in ids:
                signal_cancel(job_id)  # its render stops at the next step; the job is no longer ours
            why = "asked again" if hurry.is_set() else f"still running after {grace:g} s"
            console.print(f"stopping now ({why}): gave {len(ids)} running job(s) back to the queue for another "
                          f"worker: {', '.join(ids) or 'none'}", soft_wrap=True)
            break
    else:
        console.print("stopped: no job running")
    runtime.shutdown(timeout=2)
