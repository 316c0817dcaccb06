"""A real `zoetrope serve` on a free port, with tiny random weights, two accounts and a webhook
receiver; tests drive it with the official `openai` client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest

from zoetrope.jobs.webhooks import new_secret

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    data_dir: Path
    keys: dict[str, str]
    env: dict[str, str]
    webhook_secret: str
    hooks: list[tuple[dict, bytes]] = field(default_factory=list)
    pid: int = 0  # the serve process

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    from zoetrope.backends.bundled import write_tiny_random_weights

    return write_tiny_random_weights(tmp_path_factory.mktemp("weights"))


def make_keys(data_dir: Path) -> dict[str, str]:
    """Accounts alice (pro) and bob (plus) with one key each, in the server's database."""
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade

    engine = make_engine(f"sqlite:///{data_dir / 'zoetrope.db'}")
    upgrade(engine)
    keys = {}
    with transaction(engine, immediate=True) as s:
        for name, plan in (("alice", "pro"), ("bob", "plus")):
            account = create_account(s, name, plan=plan)
            keys[name] = create_key(s, account.id)[1]
    engine.dispose()
    return keys


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zoetrope", *args],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def warm_up(url: str, key: str) -> None:
    """Moderate one prompt, so the text encoder is loaded before a test's first request waits on it
    (minutes on a busy 2-core machine, past a test's own request timeout)."""
    r = httpx.post(
        url + "/v1/moderations", json={"input": "a red ball"}, headers={"authorization": f"Bearer {key}"}, timeout=300
    )
    r.raise_for_status()


def _receiver(hooks: list) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            hooks.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_port}/hooks"


@pytest.fixture(scope="session")
def server(tmp_path_factory, tiny_weights) -> Server:
    data_dir = tmp_path_factory.mktemp("serve")
    keys = make_keys(data_dir)
    hooks: list = []
    secret = new_secret()
    port = free_port()
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(data_dir),
        "ZOETROPE_WEIGHTS_DIR": str(tiny_weights),
        "ZOETROPE_WORKERS": "2",
        "ZOETROPE_WEBHOOK_URL": _receiver(hooks),
        "ZOETROPE_WEBHOOK_SECRET": secret,
        "ZOETROPE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',  # the receiver is on loopback
        "PYTHONPATH": str(REPO),
    }
    log = data_dir / "serve.log"
    proc = start_process(["serve", "--port", str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, timeout=600)  # a loaded 2-core machine starts it slowly
        warm_up(url, keys["alice"])
        yield Server(url, data_dir, keys, env, secret, hooks, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.base_url, api_key=server.keys["alice"], max_retries=0, timeout=60)


def events(server: Server, video_id: str) -> list[tuple[dict, bytes]]:
    return [(h, b) for h, b in server.hooks if json.loads(b)["data"]["id"] == video_id]


def images_app(tmp_path: Path, engine=None):
    """The images routes alone, in process, over a migrated SQLite file (or `engine`, migrated
    already): (engine, blobs, dispatch policy, app). The test plays the worker."""
    from fastapi import FastAPI

    from zoetrope.api import errors
    from zoetrope.api.deps import Services, new_principal_cache
    from zoetrope.api.routes import images
    from zoetrope.backends.registry import Registry
    from zoetrope.config import load_config
    from zoetrope.db import make_engine
    from zoetrope.jobs import dispatch
    from zoetrope.jobs.migrate import upgrade
    from zoetrope.storage import BlobStore

    if engine is None:
        engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        upgrade(engine)
    blobs, policy = BlobStore(str(tmp_path / "blobs")), dispatch.DispatchPolicy()
    app = FastAPI()
    app.state.services = Services(engine, Registry(load_config()), blobs, policy)
    app.state.principals = new_principal_cache()
    errors.install(app)
    app.include_router(images.router)
    return engine, blobs, policy, app
