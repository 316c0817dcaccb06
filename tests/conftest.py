"""Shared fixtures: every test gets its own data directory, never the user's ~/.zoetrope."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

# Two test processes share two cores, and many tests run torch beside a server or a worker: torch's
# thread team sleeps between parallel regions instead of spinning on a core the other process needs
# (the service commands do the same, `zoetrope.cli`). Set before anything loads torch's OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_DATA_DIR", str(tmp_path / "zoetrope-data"))
    from zoetrope.config import get_config
    from zoetrope.settings import get_settings

    get_settings.cache_clear()
    get_config.cache_clear()
    yield
    get_settings.cache_clear()
    get_config.cache_clear()


ROOT = Path(__file__).resolve().parent.parent


@cache
def _starts_session_fixtures(folder: Path) -> bool:
    conftest = ROOT / folder / "conftest.py"
    return conftest.is_file() and 'scope="session"' in conftest.read_text()


def _group(nodeid: str) -> str:
    """The unit of work a parallel run (`pytest -n`) keeps on one process: the nearest folder below
    tests/ whose conftest.py has session fixtures (a live server, built weights), so each starts
    once; else the test's file, so its module fixtures are built once."""
    path = Path(nodeid.split("::", 1)[0])
    for folder in path.parents:
        if len(folder.parts) < 2:  # tests/ itself, and above it
            break
        if _starts_session_fixtures(folder):
            return folder.as_posix()
    return path.as_posix()


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` (the Makefile's), scheduled by `_group`. pytest-xdist's own loadgroup reads
    groups from a suffix it writes into each test's node id, which pytest 9.2 no longer takes: every
    test became its own group, and each process started every server it met."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return ByGroup(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Hand a parallel run's processes the terminal width the run itself has (pytest-xdist starts
    them with COLUMNS=80, which the CLI's consoles would keep for good)."""
    node.workerinput["columns"] = os.environ.get("COLUMNS")


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "columns" in workerinput:
        if workerinput["columns"] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = workerinput["columns"]
