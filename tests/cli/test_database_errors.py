"""A command given a database it cannot use says so in one line naming the setting, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:9/zoetrope", "127.0.0.1"),
        ("postgres://postgres@127.0.0.1/zoetrope", "postgresql+psycopg://"),
        ("not a url", "Could not parse"),
        ("postgresql+psycopg2://postgres@127.0.0.1/zoetrope", "sqlite:///PATH or postgresql+psycopg://"),
        ("mysql://root@127.0.0.1/zoetrope", "sqlite:///PATH or postgresql+psycopg://"),
    ],
)
def test_an_unusable_database_url_is_one_clear_line(tmp_path, url, said):
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path), "ZOETROPE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "keys", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "error (ZOETROPE_DATABASE_URL)" in done.stderr and said in done.stderr
    assert "Traceback" not in done.stderr
