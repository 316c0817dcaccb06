"""SQLite commits with the write-ahead log copied in the background, against SQLite's own checkpoint.

Usage: python bench/checkpoint.py [--transactions 4000] [--rounds 3] [--out bench/results/checkpoint.json]

A fresh database (the real schema) takes `--transactions` small write transactions, each a
ledger entry, a usage event and a balance update (what a create's group commit writes per job),
paced as requests (a 5 ms pause every 20). The "sqlite" arm is the engine as it was: SQLite
copies the log into the database in the commit that crosses 1,000 pages. The "background" arm is
`make_engine` as shipped: a thread of its own copies it (`zoetrope.db`), commits only at 10,000.
Arms alternate for `--rounds`; the table gives each run's commit-time percentiles, the commits
over 5 ms and the time spent in them: a stall there is a stall for every request queued behind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from zoetrope import db
from zoetrope.access.accounts import create_account
from zoetrope.jobs.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SLOW_MS = 5.0


def run_arm(background: bool, transactions: int) -> dict:
    shipped = db._checkpoint_in_background, db.BACKSTOP_PAGES
    if not background:  # the engine as it was: no thread, SQLite's default 1,000-page checkpoint
        db._checkpoint_in_background, db.BACKSTOP_PAGES = (lambda engine, path: None), 1000
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = db.make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade(engine)
            with db.transaction(engine, immediate=True) as s:
                account = create_account(s, "bench").id
            times = []
            for i in range(transactions):
                start = time.perf_counter()
                with engine.begin() as conn:
                    key = uuid.uuid4().hex
                    conn.execute(
                        text("INSERT INTO ledger_entries (key, account_id, job_id, kind, currency, amount, note, "
                             "created_at) VALUES (:k, :a, :j, 'reserve', 'credits', -4, :n, CURRENT_TIMESTAMP)"),
                        {"k": f"reserve:{key}", "a": account, "j": f"video_{key}", "n": "x" * 120},
                    )  # fmt: skip
                    conn.execute(
                        text("INSERT INTO usage_events (account_id, key_id, kind, model, job_id, seconds, credits, "
                             "points, created_at) VALUES (:a, NULL, 'request', 'stub', :j, 4, 4, 0, CURRENT_TIMESTAMP)"),
                        {"a": account, "j": f"video_{key}"},
                    )  # fmt: skip
                    conn.execute(
                        text("UPDATE account_balances SET amount = amount - 4 WHERE account_id = :a"),
                        {"a": account},
                    )
                times.append((time.perf_counter() - start) * 1e3)
                if i % 20 == 19:
                    time.sleep(0.005)
            engine.dispose()
    finally:
        db._checkpoint_in_background, db.BACKSTOP_PAGES = shipped
    times.sort()
    slow = [t for t in times if t > SLOW_MS]

    def pct(q: float) -> float:
        return round(times[min(len(times) - 1, int(q * len(times)))], 2)

    return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "p999_ms": pct(0.999), "max_ms": round(times[-1], 1),
            "over_5ms": len(slow), "ms_in_slow_commits": round(sum(slow), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/checkpoint.json")
    args = parser.parse_args()
    runs = []
    for _ in range(args.rounds):
        for arm in ("sqlite", "background"):
            runs.append({"arm": arm, **run_arm(arm == "background", args.transactions)})
    table = Table(title=f"{args.transactions} commits per run, arms alternated")
    keys = [k for k in runs[0] if k != "arm"]
    for column in ("arm", *keys):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(run["arm"], *(str(run[k]) for k in keys))
    Console().print(table)
    meta = {"date": date.today().isoformat(), "machine": f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores", "load_average_1m": round(os.getloadavg()[0], 1)}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({**meta, "transactions": args.transactions, "runs": runs}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
