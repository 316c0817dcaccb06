"""`zoetrope worker --backend KIND` serves the models of that kind, and says which kinds exist."""

import subprocess
import sys


def test_worker_for_an_unconfigured_backend_kind_names_the_configured_ones(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "zoetrope", "worker", "--backend", "wan"],
        capture_output=True, text=True, timeout=120,
        env={"ZOETROPE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode == 2
    assert "no configured model uses backend wan" in r.stderr and "bundled" in r.stderr
