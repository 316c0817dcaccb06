"""`zoetrope worker`: workers only, for machines that share the database and blob store."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

from zoetrope.cli import app
from zoetrope.errors import ConfigError, InvalidRequest
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
    import os

    from zoetrope import heap
    from zoetrope.jobs import activity, children, dispatch
    from zoetrope.jobs.runtime import open_runtime
    from zoetrope.jobs.webhooks import unsigned_warning
    from zoetrope.jobs.worker import Worker, new_worker_id, signal_cancel, start_workers

    if niceness or idle:
        try:  # every thread: those started later take the priority of the thread that starts them
            children.lower_priority(niceness, idle)
        except OSError:
            console.print(f"could not lower this process's priority by {niceness}; running at normal priority")
    heap.watch()
    s = get_settings()
    runtime = open_runtime(s)
    count = s.workers if workers is None else workers
    models = [runtime.registry.canonical(m) for m in model] if model else None
    if backend:
        kinds = {e.model: e.backend_kind for e in runtime.registry.listings()}
        chosen = sorted({name for name, kind in kinds.items() if kind in backend})
        if not chosen:
            known = ", ".join(sorted(set(kinds.values())))
            raise InvalidRequest(
                f"no configured model uses backend {', '.join(backend)}; configured: {known}", param="backend"
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
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    if (fd := os.environ.pop(children.WAKE_FD, None)) is not None:  # started by serve or mcp
        children.listen_to_parent(int(fd), dispatch.doorbell.ring, signal_cancel, done.set)
    console.print(
        f"worker {proto.worker_id}: {max(1, count)} thread(s) on {s.resolved_database_url.split('@')[-1]}"
    )
    if fd is None and (warning := unsigned_warning(s.webhook_secret, s.webhook_url)):  # serve warns for its child
        console.print(warning, style="yellow")
    done.wait()
    console.print("stopping: finishing running jobs")
    runtime.shutdown(timeout=60)
