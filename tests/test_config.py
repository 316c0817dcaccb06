import pytest

from zoetrope.config import load_config
from zoetrope.errors import ConfigError


def test_shipped_config_has_every_plan_of_the_table():
    cfg = load_config()
    assert {"free", "plus", "pro", "team", "enterprise", "edu", "bing-free"} <= set(cfg.plans)
    assert cfg.plans["plus"].max_seconds == 10 and cfg.plans["pro"].max_resolution == 1080
    assert cfg.plans["bing-free"].aspects == ["9:16"]


def test_invalid_config_names_the_file_and_field(tmp_path):
    bad = tmp_path / "z.toml"
    bad.write_text('[prices]\ncredits_per_second = "lots"\n')
    with pytest.raises(ConfigError, match="credits_per_second"):
        load_config(bad)


def test_unknown_plan_lists_known_ones():
    with pytest.raises(ConfigError, match="known plans"):
        load_config().plan("platinum")
