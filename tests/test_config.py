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


def _defaults_text() -> str:
    from importlib import resources

    return resources.files("zoetrope.config").joinpath("defaults.toml").read_text()


def test_shipped_config_holds_the_eligibility_rules_and_channel():
    from datetime import date

    cfg = load_config()
    assert cfg.eligibility.minimum_age == 18 and cfg.eligibility.launch_date == date(2024, 12, 9)
    assert cfg.eligibility.late_regions["GB"] == date(2025, 2, 28) and "FR" in cfg.eligibility.groups["EEA"]
    assert set(cfg.eligibility.excluded_plans) == {"enterprise", "edu"}
    bing = cfg.plans["bing-free"]
    assert bing.excluded_countries == ["CN", "RU"] and bing.free_fast_generations == 10
    assert cfg.plans["team"].per_seat and cfg.plans["pro"].allowed_lanes() == ["fast", "relaxed"]


@pytest.mark.parametrize(
    "old,new,match",
    [
        ('excluded_plans = ["enterprise", "edu"]', 'excluded_plans = ["gov"]', "unknown plan 'gov'"),
        ('"CH" = "2025-02-28"', '"Swiss" = "2025-02-28"', "neither an ISO country code"),
        ('credits_per_second = { "480" = 1,', 'credits_per_second = { "sd" = 1,', "short side"),
        ('lanes = ["fast", "relaxed"]', 'lanes = ["relaxed"]', "default lane"),
    ],
)
def test_inconsistent_config_is_refused_with_the_field(tmp_path, old, new, match):
    text = _defaults_text()
    assert old in text
    path = tmp_path / "z.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_a_file_with_only_the_changes_says_to_start_from_the_defaults(tmp_path):
    partial = tmp_path / "z.toml"
    partial.write_text("[plans.plus]\nmax_seconds = 15\n")
    with pytest.raises(ConfigError, match="models: Field required") as e:
        load_config(partial)
    assert "start from a copy of zoetrope/config/defaults.toml" in e.value.message
    assert e.value.param == "ZOETROPE_CONFIG_FILE" and "\n" not in e.value.message


@pytest.mark.parametrize(
    "key,said",
    [
        ("concurent_jobs", "plans.plus.concurent_jobs: not a setting; did you mean concurrent_jobs?"),
        ("colour", "plans.plus.colour: not a setting; remove it"),
    ],
)
def test_a_key_the_config_does_not_define_is_refused_not_ignored(tmp_path, key, said):
    # Ignored, a misspelt `concurrent_jobs` left the plan at 0 concurrent jobs: its jobs never ran.
    import re

    text, n = re.subn(r"(\[plans\.plus\]\n(?:.*\n)*?)concurrent_jobs", rf"\g<1>{key}", _defaults_text(), count=1)
    assert n == 1
    path = tmp_path / "z.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert said in e.value.message
    assert e.value.param == "ZOETROPE_CONFIG_FILE" and "\n" not in e.value.message


def test_a_plans_quota_with_a_key_it_does_not_define_is_refused(tmp_path):
    path = tmp_path / "z.toml"
    old = "quota = { requests_per_minute = 60 }"
    assert old in _defaults_text()
    path.write_text(_defaults_text().replace(old, "quota = { requests_per_min = 30 }", 1))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "plans.plus.quota: requests_per_min is not a setting; did you mean requests_per_minute?" in e.value.message
