"""Admission against an account's history: the running balance against a sum over the ledger.

Usage: python bench/ledger.py [--sizes 0,10000,100000,300000] [--out bench/results/ledger.json]

One account on the default plan; its ledger grows to each size (reserve entries, as a busy API
account leaves them), and at each size the bench times, on SQLite and (when reachable) PostgreSQL:
reading the balance from `account_balances` (what admission does), summing the ledger (what it did
before), and a whole `admit` (lock, checks, balance, hold) committed as a create would, once as it
is and once with `ledger.balance` swapped for the ledger sum (admission as it was before).
On SQLite it also times what every API request pays to authenticate a cached key (`principal_us`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, event, insert, text

from zoetrope.access import grants, ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import Principal, create_key
from zoetrope.access.models import LedgerEntry
from zoetrope.config import get_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQ = RequestSummary(model="zoetrope-mini", width=128, height=128, seconds=1)
REPEATS = 30


def _ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time of `fn` in milliseconds."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _grow(engine, account_id: str, start: int, stop: int) -> None:
    rows = [
        {"key": f"bench:{account_id}:{i}", "account_id": account_id, "kind": "reserve", "amount": 0,
         "currency": "credits", "note": ""}
        for i in range(start, stop)
    ]  # fmt: skip
    with transaction(engine) as s:
        for i in range(0, len(rows), 20_000):
            s.execute(insert(LedgerEntry), rows[i : i + 20_000])


def run(engine, sizes: list[int]) -> list[dict]:
    config = get_config()
    with transaction(engine) as s:
        account = create_account(s, f"bench-{uuid.uuid4().hex[:8]}", plan="pro")
        grants.ensure_monthly_grant(s, account, config.plan("pro"), date.today())
        principal = Principal(account_id=account.id, key_id=None, plan=config.plan("pro"))
    rows, have, jobs = [], 0, iter(range(10**9))

    def admit_ms() -> float:
        """Median of REPEATS admissions, each committed, then released (untimed) as a failed job would be."""
        times = []
        for _ in range(REPEATS + 1):
            job = f"video_bench_{next(jobs)}"
            t = time.perf_counter()
            with transaction(engine, immediate=True) as s:
                admit(s, principal, REQ, job, config=config)
            times.append(time.perf_counter() - t)
            with transaction(engine, immediate=True) as s:
                ledger.release(s, job)
        return statistics.median(times[1:]) * 1000

    for size in sizes:
        _grow(engine, principal.account_id, have, size)  # zero-amount entries: the balance stays
        have = size
        with transaction(engine) as s:
            running = _ms(lambda s=s: ledger.balance(s, principal.account_id))
            summed = _ms(lambda s=s: ledger.ledger_sum(s, principal.account_id))
        now = admit_ms()
        balance, ledger.balance = ledger.balance, ledger.ledger_sum  # admission as it was before
        try:
            before = admit_ms()
        finally:
            ledger.balance = balance
        rows.append({"entries": size, "balance_ms": running, "ledger_sum_ms": summed, "admit_ms": now,
                     "admit_summing_ms": before})  # fmt: skip
    return rows


def principal_us(engine, requests: int = 2000) -> dict:
    """Median microseconds of an API request's authentication with its key cached (what
    `zoetrope.api.deps` does on each request): with nothing committed between requests (a poll loop),
    and with another connection committing between each two (a busy server: jobs, the ledger)."""
    from zoetrope.api.deps import new_principal_cache

    with transaction(engine, immediate=True) as s:
        account = create_account(s, f"bench-{uuid.uuid4().hex[:8]}", plan="pro")
        (key, token), (other, _) = create_key(s, account.id, "timed"), create_key(s, account.id, "other")
    cache = new_principal_cache()
    bump = text("UPDATE api_keys SET name = :name WHERE id = :id")

    def write(i: int) -> None:  # a commit that changes nobody's rights
        with engine.begin() as conn:
            conn.execute(bump, {"name": f"other-{i}", "id": other.id})

    async def timed(busy: bool) -> float:
        await cache.resolve(engine, token)
        times = []
        for i in range(requests):
            if busy:
                write(i)
            t = time.perf_counter()
            who = await cache.resolve(engine, token)
            times.append(time.perf_counter() - t)
            assert who.key_id == key.id
        return statistics.median(times) * 1e6

    return {"quiet_us": asyncio.run(timed(False)), "busy_us": asyncio.run(timed(True))}


def _pg_engine():
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
    except Exception:  # noqa: BLE001 - no PostgreSQL here: SQLite alone
        return None, None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL)

    @event.listens_for(engine, "connect")
    def _path(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.commit()

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return engine, drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0,10000,100000,300000", help="ledger entries, comma-separated")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ledger.json")
    args = ap.parse_args()
    sizes = sorted({int(x) for x in args.sizes.split(",")})
    results = {}
    with tempfile.TemporaryDirectory(prefix="zoetrope-ledger-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        upgrade(engine)
        results["sqlite"] = run(engine, sizes)
        cached = principal_us(engine)
        engine.dispose()
    pg, drop = _pg_engine()
    if pg is not None:
        try:
            upgrade(pg)
            results["postgresql"] = run(pg, sizes)
        finally:
            drop()
    table = Table(title="admission against an account's history (median ms)")
    cols = (
        "database",
        "entries",
        "balance row",
        "sum of ledger",
        "sum / row",
        "admit",
        "admit, summing",
        "ratio",
    )
    for col in cols:
        table.add_column(col, justify="right")
    for db, rows in results.items():
        for r in rows:
            ratio = r["ledger_sum_ms"] / r["balance_ms"]
            table.add_row(db, f"{r['entries']:,}", f"{r['balance_ms']:.3f}", f"{r['ledger_sum_ms']:.3f}",
                          f"{ratio:.1f}x", f"{r['admit_ms']:.2f}", f"{r['admit_summing_ms']:.2f}",
                          f"{r['admit_summing_ms'] / r['admit_ms']:.1f}x")  # fmt: skip
    Console(width=140).print(table)
    print(
        f"SQLite, an API request's authentication with its key cached (median us): nothing committed "
        f"between requests {cached['quiet_us']:.1f}, a commit between each two {cached['busy_us']:.1f}"
    )
    meta = {
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({**meta, "results": results, "sqlite_cached_principal": cached}, indent=2) + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
