"""A live `zoetrope serve` with two accounts (alice on pro, bob on plus), and MCP client sessions to
it over streamable HTTP and over stdio. Imported as `tests.mcp.live` (the `server` fixture in this
folder's conftest starts one), so no test imports a conftest or another test module by name."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parents[2]
INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
TOOLS = {
    "generate_video",
    "generate_image",
    "animate_image",
    "extend_video",
    "remix_video",
    "get_video",
    "list_videos",
    "verify_media",
}


@dataclass
class Server:
    url: str
    data_dir: Path
    keys: dict[str, str]
    env: dict[str, str]
    process: subprocess.Popen | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_keys(data_dir: Path) -> dict[str, str]:
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


@contextmanager
def serving(data_dir: Path, weights: Path, **env: str) -> Iterator[Server]:
    """A `zoetrope serve` on a free port over `data_dir` with `weights`, `env` added to its
    environment; stopped when the block ends."""
    keys = _make_keys(data_dir)
    port = _free_port()
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(data_dir),
        "ZOETROPE_WEIGHTS_DIR": str(weights),
        "ZOETROPE_WORKERS": "2",
        "PYTHONPATH": str(REPO),
        **env,
    }
    log = data_dir / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoetrope", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield Server(url, data_dir, keys, env, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@asynccontextmanager
async def http_session(server: Server, key: str):
    """An initialised MCP client session to the server's `/mcp`, authenticated with `key`."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http:
        async with streamable_http_client(server.url + "/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def stdio_session(server: Server, key: str, **env: str):
    """An initialised MCP client session to a spawned `zoetrope mcp` on the server's data dir, with
    `env` added to its environment."""
    env = {**server.env, "ZOETROPE_API_KEY": key, "ZOETROPE_PUBLIC_URL": server.url, **env}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "zoetrope", "mcp", "--workers", "0"], env=env, cwd=str(REPO)
    )
    with (server.data_dir / "mcp-stdio.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def stdio_answers(server: Server, lines: list, count: int, key: str = "alice") -> tuple[list, str]:
    """Spawn `zoetrope mcp` on the server's data dir with `key`'s API key, write `lines` to its stdin
    (bytes and str as they are, anything else as JSON), one a line, and read `count` answers back
    (None for each one missing); with what it wrote to stderr. A line left unanswered fails the
    test within a minute rather than hanging it."""
    env = {**server.env, "ZOETROPE_API_KEY": server.keys[key]}
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zoetrope", "mcp", "--workers", "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=str(REPO),
        )  # fmt: skip
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        try:
            for line in lines:
                if isinstance(line, str):
                    line = line.encode()
                elif not isinstance(line, bytes):
                    line = json.dumps(line).encode()
                proc.stdin.write(line + b"\n")
            proc.stdin.flush()
            answers = [json.loads(proc.stdout.readline() or "null") for _ in range(count)]
        finally:
            watchdog.cancel()
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()
        stderr.seek(0)
        return answers, stderr.read().decode(errors="replace")
