"""On PostgreSQL a key revoked (or an account disabled) by any process is refused by every server
process on its very next request, not once each server's cached principal expires."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.access.conftest import PG_URL, _pg_reachable
from tests.api.conftest import free_port, start_process, wait_healthy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database():
    """A fresh, migrated PostgreSQL database of its own (notifications are per database)."""
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    name = f"zt_revoke_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _accounts(url: str) -> dict[str, tuple[str, str]]:
    """name -> (key id, token): root (an admin), and keys k1..k3 of alice and one of bob."""
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    out = {}
    with transaction(engine) as s:
        root = create_account(s, "root", plan="pro", is_admin=True)
        alice = create_account(s, "alice", plan="pro")
        bob = create_account(s, "bob", plan="plus")
        for name, account in (("root", root), ("k1", alice), ("k2", alice), ("k3", alice), ("bob", bob)):
            key, token = create_key(s, account.id, name)
            out[name] = (key.id, token)
    engine.dispose()
    return out


def _start(env: dict, tmp: Path, name: str) -> tuple[subprocess.Popen, str, Path]:
    port, log = free_port(), tmp / f"{name}.log"
    return start_process(["serve", "--port", str(port), "--workers", "0"], env, log), f"http://127.0.0.1:{port}", log


def _serve(env: dict, tmp: Path, name: str) -> tuple[subprocess.Popen, str]:
    proc, url, log = _start(env, tmp, name)
    wait_healthy(url, proc, log, timeout=300)
    return proc, url


def _listeners(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND query LIKE 'LISTEN zoetrope%'"))  # fmt: skip
    engine.dispose()
    return n


def _wait_listening(url: str, n: int) -> None:
    deadline = time.monotonic() + 30
    while _listeners(url) < n:
        assert time.monotonic() < deadline, "the servers did not LISTEN"
        time.sleep(0.05)


@contextmanager
def two_servers(database: str, tmp_path: Path) -> Iterator[tuple[dict, str, str]]:
    """Two `zoetrope serve` processes on `database`: (their environment, server a's URL, b's)."""
    env = {**os.environ, "ZOETROPE_DATABASE_URL": database, "ZOETROPE_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(REPO)}  # fmt: skip
    started = []
    try:
        for name in ("a", "b"):  # both at once: they start side by side, as a deployment's do
            started.append(_start(env, tmp_path, name))
        for proc, url, log in started:
            wait_healthy(url, proc, log, timeout=300)
        yield env, started[0][1], started[1][1]
    finally:
        for proc, _, _ in started:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _read(server: str, token: str) -> int:
    return httpx.get(f"{server}/v1/videos", headers={"authorization": f"Bearer {token}"}, timeout=30).status_code


def test_revoked_keys_and_disabled_accounts_are_refused_by_every_server_at_once(database, tmp_path):
    keys = _accounts(database)
    with two_servers(database, tmp_path) as (env, url_a, url_b):
        servers = (url_a, url_b)

        # Revoked from the CLI: both servers had the key cached from a read a moment before.
        assert [_read(s, keys["k1"][1]) for s in servers] == [200, 200]
        cli = subprocess.run([sys.executable, "-m", "zoetrope", "keys", "revoke", keys["k1"][0]],
                             env=env, cwd=REPO, capture_output=True, timeout=120)  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert [_read(s, keys["k1"][1]) for s in servers] == [401, 401]

        # Revoked through one server's admin API: the other refuses it too.
        assert _read(url_a, keys["k2"][1]) == 200
        r = httpx.delete(f"{url_b}/v1/admin/keys/{keys['k2'][0]}",
                         headers={"authorization": f"Bearer {keys['root'][1]}"}, timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        assert _read(url_a, keys["k2"][1]) == 401

        # An account disabled by any statement: every key of it is refused.
        assert [_read(s, keys["bob"][1]) for s in servers] == [200, 200]
        engine = create_engine(database)
        with engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET disabled_at = now() WHERE name = 'bob'"))
        assert [_read(s, keys["bob"][1]) for s in servers] == [401, 401]

        # After the listening connections drop, the servers listen again and still hear revocations.
        assert [_read(s, keys["k3"][1]) for s in servers] == [200, 200]
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND query LIKE 'LISTEN zoetrope%'"))  # fmt: skip
        time.sleep(0.5)
        _wait_listening(database, 2)
        assert [_read(s, keys["k3"][1]) for s in servers] == [200, 200]
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET revoked_at = now() WHERE id = :id"), {"id": keys["k3"][0]})
        assert [_read(s, keys["k3"][1]) for s in servers] == [401, 401]
        engine.dispose()
        assert [_read(s, keys["k2"][1]) for s in servers] == [401, 401]
        assert [_read(s, keys["root"][1]) for s in servers] == [200, 200]  # others' keys still work
