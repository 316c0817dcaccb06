"""The validated TOML configuration: models, plans, prices and eligibility rules."""

from __future__ import annotations

import difflib
import tomllib
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zoetrope.errors import ConfigError


class _Section(BaseModel):
    """A table of the config file: a key it does not define (a misspelt `concurrent_jobs`) is refused,
    not ignored, so the setting meant does not silently keep its default."""

    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Section):
    name: str
    backend: str
    aliases: list[str] = Field(default_factory=list)
    options: dict = Field(default_factory=dict)


class Quota(BaseModel):
    """Rate limits; `None` means unlimited. Plans set defaults, accounts and keys may tighten them.
    (Lenient, as the accounts' and keys' stored overrides are read with it; a plan's is checked.)"""

    requests_per_minute: int | None = Field(default=None, ge=1)
    seconds_per_day: float | None = Field(default=None, gt=0)


class Plan(_Section):
    """What an account on this plan may do. `None` limits mean the plan has no video at all.

    With `per_seat`, the price, concurrency and monthly credits are multiplied by the seats.
    """

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
    lanes: list[Literal["fast", "relaxed"]] | None = None  # lanes a request may ask for; None: `lane` only
    tasks: list[str] | None = None  # task kinds allowed (t2v, i2v, remix...); None: every task
    concurrent_jobs: int = 0
    watermark_free: bool = False
    monthly_credits: int = 0
    free_fast_generations: int = 0
    fast_points_cost: int = 0
    free_generations: bool = False  # standard (relaxed) generations cost no credits
    free_fast_period: Literal["month", "lifetime"] = "lifetime"
    excluded_countries: list[str] = Field(default_factory=list)
    # A channel can open on its own date and skip the late regions; None: the eligibility defaults.
    launch_date: date | None = None
    late_regions: dict[str, date] | None = None
    quota: Quota = Field(default_factory=Quota)

    @field_validator("quota", mode="before")
    @classmethod
    def _quota_keys(cls, v: object) -> object:
        if isinstance(v, dict) and (unknown := sorted(set(v) - set(Quota.model_fields))):
            raise ValueError(f"{unknown[0]} is not a setting; {_closest(unknown[0], Quota.model_fields)}")
        return v

    def allowed_lanes(self) -> list[str]:
        return list(self.lanes) if self.lanes else [self.lane]


class ModelPrice(_Section):
    credits_per_second: dict[str, float] | None = None
    image_credits: float | None = None


class Prices(_Section):
    """Credits per generated second by the short side of the output ("480", "720"...), per model."""

    credits_per_second: dict[str, float]
    image_credits: float = 1
    models: dict[str, ModelPrice] = Field(default_factory=dict)


class Eligibility(_Section):
    minimum_age: int = 18
    launch_date: date
    late_regions: dict[str, date] = Field(default_factory=dict)
    excluded_plans: list[str] = Field(default_factory=list)
    # Named groups of ISO codes usable in late_regions / excluded_countries ("EEA").
    groups: dict[str, list[str]] = Field(default_factory=dict)


class Config(_Section):
    models: list[ModelEntry]
    prices: Prices
    eligibility: Eligibility
    plans: dict[str, Plan]

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        groups = self.eligibility.groups
        for name in self.eligibility.excluded_plans:
            if name not in self.plans:
                raise ValueError(f"eligibility.excluded_plans names unknown plan {name!r}")
        regions = [("eligibility.late_regions", list(self.eligibility.late_regions))]
        for plan in self.plans.values():
            regions.append((f"plans.{plan.name}.excluded_countries", plan.excluded_countries))
            regions.append((f"plans.{plan.name}.late_regions", list(plan.late_regions or {})))
            if plan.lanes and plan.lane not in plan.lanes:
                raise ValueError(
                    f"plans.{plan.name}: default lane {plan.lane!r} is not in lanes {plan.lanes}"
                )
        for where, codes in regions:
            for code in codes:
                if code not in groups and not (len(code) == 2 and code.isalpha() and code.isupper()):
                    raise ValueError(f"{where}: {code!r} is neither an ISO country code nor a group")
        tables = [("prices.credits_per_second", self.prices.credits_per_second)]
        tables += [(f"prices.models.{m}", p.credits_per_second or {}) for m, p in self.prices.models.items()]
        for where, table in tables:
            if not all(k.isdigit() for k in table):
                raise ValueError(
                    f"{where}: keys must be resolutions (short side in pixels), got {list(table)}"
                )
        return self

    def model_name(self, name: str) -> str | None:
        """The canonical name of model `name` (itself or one of its aliases); None if none is configured."""
        return next((m.name for m in self.models if name == m.name or name in m.aliases), None)

    def plan(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise ConfigError(
                f"unknown plan {name!r}; known plans: {', '.join(sorted(self.plans))}"
            ) from None


def load_config(path: Path | None = None) -> Config:
    """Read and validate a TOML config; the shipped defaults when `path` is None."""
    if path is None:
        text = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        source = "defaults.toml"
    else:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e.strerror or e}", param=_FILE) from None
        source = str(path)
    try:
        raw = tomllib.loads(text)
        for name, plan in raw.get("plans", {}).items():
            plan.setdefault("name", name)
        return Config.model_validate(raw)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid config {source}: not TOML ({e})", param=_FILE) from None
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {_problem(err)}" for err in e.errors(include_url=False)
        )
        if any(len(err["loc"]) == 1 and err["type"] == "missing" for err in e.errors()):
            problems += " (a config file is a whole config: start from a copy of zoetrope/config/defaults.toml)"
        raise ConfigError(f"invalid config {source}: {problems}", param=_FILE) from None


_FILE = "ZOETROPE_CONFIG_FILE"


def _problem(err) -> str:
    """What is wrong at one place of the config, with the key meant where a key is unknown."""
    if err["type"] != "extra_forbidden":
        return err["msg"].removeprefix("Value error, ")
    known = {name for model in _Section.__subclasses__() for name in model.model_fields}
    return f"not a setting; {_closest(str(err['loc'][-1]), known)}"


def _closest(key: str, known) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.7)
    return f"did you mean {close[0]}?" if close else "remove it"


@lru_cache(maxsize=1)
def get_config() -> Config:
    from zoetrope.settings import get_settings

    return load_config(get_settings().config_file)
