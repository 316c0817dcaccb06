"""SQLite files: every connection gets WAL, even on a new file opened by many at once, and the
write-ahead log is copied into the database by a background thread, not by a commit."""

from __future__ import annotations

import gc
import threading
import time

from sqlalchemy import text

from zoetrope import db


def _wait(condition, seconds: float = 5.0) -> bool:
    stop = time.monotonic() + seconds
    while not condition() and time.monotonic() < stop:
        time.sleep(0.05)
    return condition()


def test_commits_leave_the_log_to_a_background_thread_that_copies_it_in(tmp_path):
    path = tmp_path / "z.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
    with engine.begin() as conn:
        # About 300 pages: under SQLite's own 1,000-page checkpoint, which would leave the file as it was.
        for _ in range(600):
            conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "x" * 2000})
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == db.BACKSTOP_PAGES
    assert _wait(lambda: path.stat().st_size > 1_000_000), "the log was not copied into the database file"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 600
    engine.dispose()


def test_the_thread_ends_with_its_engines_and_never_creates_the_file(tmp_path):
    path = tmp_path / "never.db"

    def engine_never_connected() -> threading.Thread:
        engine = db.make_engine(f"sqlite:///{path}")
        thread = db._checkpointers[str(path.resolve())].thread
        time.sleep(3 * db.CHECKPOINT_SECONDS)  # the thread has tried the missing file
        assert thread.is_alive()
        engine.dispose()
        return thread

    thread = engine_never_connected()
    assert not path.exists()
    gc.collect()
    assert _wait(lambda: not thread.is_alive())
    assert str(path.resolve()) not in db._checkpointers
    again = db.make_engine(f"sqlite:///{path}")  # a new engine on the file gets a thread of its own
    assert db._checkpointers[str(path.resolve())].thread.is_alive()
    again.dispose()


def test_connections_opening_a_new_file_together_all_get_wal(tmp_path):
    # The switch to WAL is refused at once, not waited for, while another connection makes it;
    # about one new file in ten met that here when eight connections opened it together.
    errors: list[Exception] = []

    def connect(url: str, start: threading.Barrier) -> None:
        engine = db.make_engine(url)
        start.wait()
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        except Exception as e:  # noqa: BLE001 - collected, asserted below
            errors.append(e)
        engine.dispose()

    for i in range(100):
        start = threading.Barrier(8)
        threads = [
            threading.Thread(target=connect, args=(f"sqlite:///{tmp_path / f'new-{i}.db'}", start))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
