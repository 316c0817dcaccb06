"""The pipe from `serve` to its worker process: news of jobs and deletions, and its closing."""

from __future__ import annotations

import os
import threading

from zoetrope.jobs.children import listen_to_parent


def test_the_child_hears_new_jobs_and_deletions_and_stops_when_the_pipe_closes():
    read_fd, write_fd = os.pipe()
    jobs, cancels, closed = [], [], threading.Event()
    thread = listen_to_parent(read_fd, lambda: jobs.append(1), cancels.append, closed.set)
    os.write(write_fd, b"job\njob\ncancel video_abc\nnonsense\n")
    os.close(write_fd)  # the parent stopped or died
    assert closed.wait(10)
    thread.join(10)
    assert jobs == [1, 1]
    assert cancels == ["video_abc"]


def test_metrics_folders_of_dead_servers_are_cleared(tmp_path, monkeypatch):
    from zoetrope.jobs import children

    monkeypatch.setenv(children.METRICS_DIR, "")  # recorded, so the folder set below is undone
    monkeypatch.delenv(children.METRICS_DIR)
    dead = tmp_path / "run" / "metrics-999999999"
    dead.mkdir(parents=True)
    (dead / "counter_1.db").write_bytes(b"x")
    folder = children.share_metrics(tmp_path)
    assert folder == tmp_path / "run" / f"metrics-{os.getpid()}" and folder.is_dir()
    assert os.environ[children.METRICS_DIR] == str(folder)
    assert not dead.exists()
    assert children.share_metrics(tmp_path) is None  # the environment names a folder already
