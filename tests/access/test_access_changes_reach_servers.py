"""On PostgreSQL a change to what an account or key may do (plan, seats, quota, admin right; a key's
allowed models or quota) made by any process applies on every server process's very next request,
not once each server's cached principal expires; the last_used_at written on requests announces
nothing."""

from __future__ import annotations

import subprocess
import sys

import httpx
import psycopg
from sqlalchemy import create_engine, make_url, text

from tests.access import test_revocation_reaches_servers as revocation
from tests.access.test_revocation_reaches_servers import REPO, _accounts, two_servers

database = revocation.database  # a fresh, migrated PostgreSQL database of its own

CHANNEL = "zoetrope_access_revoked"


def _quote(server: str, token: str, seconds: str) -> httpx.Response:
    """What a create would cost, refused as a create would be, without queuing anything."""
    return httpx.post(f"{server}/v1/videos", headers={"authorization": f"Bearer {token}", "zoetrope-quote": "true"},
                      json={"prompt": "a red ball", "seconds": seconds, "size": "1280x720"}, timeout=30)  # fmt: skip


def _listen(url: str) -> psycopg.Connection:
    conn = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)  # fmt: skip
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _heard(conn: psycopg.Connection, wait: float = 1.0) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=wait)]


def test_a_plan_change_from_the_cli_applies_on_every_servers_next_request(database, tmp_path):
    keys = _accounts(database)
    with two_servers(database, tmp_path) as (env, url_a, url_b):
        alice = keys["k1"][1]

        # pro allows 12 s (a quote queues nothing); server b now holds alice as pro in its cache.
        r = _quote(url_b, alice, "12")
        assert r.status_code < 300, r.text

        # Moved to plus from the CLI...
        cli = subprocess.run([sys.executable, "-m", "zoetrope", "accounts", "set", "alice", "--plan", "plus"],
                             env=env, cwd=REPO, capture_output=True, timeout=120)  # fmt: skip
        assert cli.returncode == 0, cli.stderr

        # ...server b refuses the same request at once, by the new plan's limit.
        r = _quote(url_b, alice, "12")
        assert r.status_code == 403 and r.json()["error"]["code"] == "duration_exceeds_plan", r.text
        assert _quote(url_a, alice, "12").status_code == 403
        assert _quote(url_b, alice, "10").status_code < 300

        # A key's first request writes its last_used_at: the servers hear nothing of it.
        listener = _listen(database)
        try:
            assert httpx.get(f"{url_a}/v1/videos", headers={"authorization": f"Bearer {keys['k2'][1]}"},
                             timeout=30).status_code == 200  # fmt: skip
            assert _heard(listener) == []
        finally:
            listener.close()
        engine = create_engine(database)
        with engine.connect() as conn:
            used = conn.scalar(
                text("SELECT last_used_at FROM api_keys WHERE id = :id"), {"id": keys["k2"][0]}
            )
        engine.dispose()
        assert used is not None  # the write happened, and was silent


def test_rights_changes_are_announced_and_last_used_and_no_op_updates_are_not(database):
    keys = _accounts(database)
    key_id = keys["k1"][0]
    engine = create_engine(database)
    listener = _listen(database)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET last_used_at = now() WHERE id = :id"), {"id": key_id})
            conn.execute(
                text("UPDATE accounts SET plan = plan, seats = seats, quota = quota, is_admin = is_admin")
            )
            conn.execute(text("UPDATE api_keys SET allowed_models = allowed_models, quota = quota"))
            conn.execute(text("UPDATE accounts SET country = 'DE' WHERE name = 'alice'"))
        assert _heard(listener) == []

        with engine.begin() as conn:
            alice = conn.scalar(text("SELECT id FROM accounts WHERE name = 'alice'"))
            conn.execute(text("UPDATE api_keys SET allowed_models = '[\"zoetrope-mini\"]' WHERE id = :id"),
                         {"id": key_id})  # fmt: skip
        assert _heard(listener) == [f"key:{key_id}"]
        with engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET quota = '{\"rpm\": 5}' WHERE id = :id"), {"id": key_id})
        assert _heard(listener) == [f"key:{key_id}"]
        for change in ("plan = 'plus'", "seats = 3", "quota = '{\"rpm\": 5}'", "is_admin = true"):
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE accounts SET {change} WHERE id = :id"), {"id": alice})
            assert _heard(listener) == [f"account:{alice}"], change
        with engine.begin() as conn:  # the same values again: nothing changed, nothing said
            conn.execute(text("UPDATE accounts SET plan = 'plus', seats = 3 WHERE id = :id"), {"id": alice})
            conn.execute(text("UPDATE api_keys SET allowed_models = '[\"zoetrope-mini\"]' WHERE id = :id"),
                         {"id": key_id})  # fmt: skip
        assert _heard(listener) == []
    finally:
        listener.close()
        engine.dispose()
