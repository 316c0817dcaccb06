"""Shared fixtures: every test gets its own data directory, never the user's ~/.zoetrope."""

from __future__ import annotations

import pytest


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
