"""On SQLite (no notifications) a change to what an account may do, made by the CLI or by another
server process on the same file, applies on a running server's very next request, not once its
cached principal expires; so does a key revoked from the CLI."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.access.test_access_changes_reach_servers import _quote
from tests.access.test_revocation_reaches_servers import REPO, _accounts, two_servers


def _cli(env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "zoetrope", *args], env=env, cwd=REPO, capture_output=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr


def _read(server: str, token: str) -> int:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.get(f"{server}/v1/videos", headers=headers, timeout=30).status_code


def test_plan_changes_and_revocations_apply_on_every_servers_next_request(tmp_path):
    database = f"sqlite:///{tmp_path / 'zoetrope.db'}"
    keys = _accounts(database)  # root (an admin); alice on pro, with keys k1..k3
    alice, root = keys["k1"][1], keys["root"][1]
    with two_servers(database, tmp_path) as (env, url_a, url_b):
        servers = (url_a, url_b)
        # pro allows 12 s (a quote queues nothing); both servers now hold alice as pro in their caches.
        assert [_quote(s, alice, "12").status_code for s in servers] == [200, 200]

        # Moved to plus from the CLI: both servers refuse the same request at once, by plus's limit.
        _cli(env, "accounts", "set", "alice", "--plan", "plus")
        for server in servers:
            r = _quote(server, alice, "12")
            assert r.status_code == 403 and r.json()["error"]["code"] == "duration_exceeds_plan", r.text
            assert _quote(server, alice, "10").status_code == 200

        # Moved back to pro through server b's admin API: server a allows it again at once, as does b.
        r = httpx.patch(f"{url_b}/v1/admin/accounts/alice", json={"plan": "pro"},
                        headers={"authorization": f"Bearer {root}"}, timeout=30)  # fmt: skip
        assert r.status_code == 200 and r.json()["plan"] == "pro", r.text
        assert [_quote(s, alice, "12").status_code for s in servers] == [200, 200]

        # Revoked from the CLI: refused at once; the account's other keys still work.
        assert [_read(s, keys["k2"][1]) for s in servers] == [200, 200]
        _cli(env, "keys", "revoke", keys["k2"][0])
        assert [_read(s, keys["k2"][1]) for s in servers] == [401, 401]
        assert [_read(s, alice) for s in servers] == [200, 200]
