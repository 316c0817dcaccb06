"""Shared fixtures: every test gets its own data directory, never the user's ~/.zoetrope."""

from __future__ import annotations

import os

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


def _group(item: pytest.Item) -> str:
    """The unit of work a parallel run (`pytest -n`) keeps on one process: the conftest folder whose
    session fixtures (a live server, built weights) the test uses, so each starts once; else its file,
    so its module fixtures are built once."""
    info = getattr(item, "_fixtureinfo", None)
    for name in info.names_closure if info else ():
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if fixturedef.scope == "session" and fixturedef.baseid not in ("", "tests"):
                return fixturedef.baseid
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("loadgroup", False):  # pytest-xdist's --dist loadgroup
        for item in items:
            if item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(_group(item)))


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
