"""The validated TOML configuration: models, plans, prices and eligibility rules."""

from __future__ import annotations

import tomllib
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from zoetrope.errors import ConfigError


class ModelEntry(BaseModel):
    name: str
    backend: str
    aliases: list[str] = Field(default_factory=list)
    options: dict = Field(default_factory=dict)


class Plan(BaseModel):
    """What an account on this plan may do. `None` limits mean the plan has no video at all."""

    name: str = ""
    price_usd: float | None = None
    per_seat: bool = False
    channel: str | None = None
    video: bool = False
    excluded: bool = False
    max_seconds: float | None = None
    max_resolution: int | None = None
    aspects: list[str] | None = None
    images: Literal["unlimited", "none"] = "none"
    lane: Literal["fast", "relaxed"] = "relaxed"
    concurrent_jobs: int = 0
    watermark_free: bool = False
    monthly_credits: int = 0
    free_fast_generations: int = 0
    fast_points_cost: int = 0
    excluded_countries: list[str] = Field(default_factory=list)


class Prices(BaseModel):
    credits_per_second: dict[str, float]
    image_credits: float = 1


class Eligibility(BaseModel):
    minimum_age: int = 18
    launch_date: date
    late_regions: dict[str, date] = Field(default_factory=dict)
    excluded_plans: list[str] = Field(default_factory=list)


class Config(BaseModel):
    models: list[ModelEntry]
    prices: Prices
    eligibility: Eligibility
    plans: dict[str, Plan]

    def plan(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise ConfigError(f"unknown plan {name!r}; known plans: {', '.join(sorted(self.plans))}") from None


def load_config(path: Path | None = None) -> Config:
    """Read and validate a TOML config; the shipped defaults when `path` is None."""
    if path is None:
        text = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        source = "defaults.toml"
    else:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e}") from e
        source = str(path)
    try:
        raw = tomllib.loads(text)
        for name, plan in raw.get("plans", {}).items():
            plan.setdefault("name", name)
        return Config.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise ConfigError(f"invalid config {source}: {e}") from e


@lru_cache(maxsize=1)
def get_config() -> Config:
    from zoetrope.settings import get_settings

    return load_config(get_settings().config_file)
