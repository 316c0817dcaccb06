"""On SQLite (one host, no notifications) a key revoked from the CLI stops working for reads on a
running server at its very next request, not once its ten-second cached principal expires."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.access.test_revocation_reaches_servers import REPO, _serve


def _accounts(data_dir) -> dict[str, tuple[str, str]]:
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade

    engine = make_engine(f"sqlite:///{data_dir / 'zoetrope.db'}")
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        alice = create_account(s, "alice", plan="pro")
        out = {name: (k.id, token) for name in ("k1", "k2") for k, token in [create_key(s, alice.id, name)]}
    engine.dispose()
    return out


def test_a_key_revoked_from_the_cli_is_refused_at_once(tmp_path):
    keys = _accounts(tmp_path)
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("ZOETROPE_DATABASE_URL", None)
    proc, url = _serve(env, tmp_path, "serve")
    try:

        def read(name: str) -> int:
            headers = {"authorization": f"Bearer {keys[name][1]}"}
            return httpx.get(f"{url}/v1/videos", headers=headers, timeout=30).status_code

        assert read("k1") == 200 and read("k2") == 200  # both cached now
        cli = subprocess.run([sys.executable, "-m", "zoetrope", "keys", "revoke", keys["k1"][0]],
                             env=env, cwd=REPO, capture_output=True, timeout=120)  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert read("k1") == 401
        assert read("k2") == 200  # the account's other key still works
    finally:
        proc.terminate()
        proc.wait(timeout=15)
