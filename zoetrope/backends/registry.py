"""The backend registry: model names (and aliases) from the config, mapped to backend kinds.

A kind is a short name of a built-in backend (`bundled`) or an import path `package.module:Class`
for a backend that lives elsewhere (a plugin, a test double, the benchmark's stub). Backends are
created lazily, once per model, on first use.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from zoetrope.backends.base import Backend
from zoetrope.config import Config, ModelEntry
from zoetrope.errors import ConfigError, InvalidRequest, ModelUnavailable

BackendFactory = Callable[..., Backend]

BUILTIN_KINDS: dict[str, str] = {
    "bundled": "zoetrope.backends.bundled:BundledBackend",
    "wan": "zoetrope.backends.diffusers:WanBackend",
    "ltx": "zoetrope.backends.diffusers:LTXBackend",
    "cogvideox": "zoetrope.backends.diffusers:CogVideoXBackend",
    "upstream": "zoetrope.backends.upstream:UpstreamBackend",
}


def _import(path: str) -> BackendFactory:
    module, _, attr = path.partition(":")
    if not attr:
        raise ConfigError(
            f"backend kind {path!r} is neither built in ({', '.join(BUILTIN_KINDS)}) nor module:Class"
        )
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ModelUnavailable(f"backend {path!r} cannot be loaded: {e}") from e


@dataclass(frozen=True)
class ModelListing:
    """One name a client may send in `model`, and the model it routes to."""

    id: str
    model: str
    backend_kind: str


class Registry:
    """Resolves model names to config entries and lazily built backends."""

    def __init__(self, config: Config) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for entry in config.models:
            for name in (entry.name, *entry.aliases):
                if name in self._entries:
                    raise ConfigError(f"model name {name!r} is configured twice")
                self._entries[name] = entry
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def entry(self, name: str) -> ModelEntry:
        """The config entry `name` routes to; a 400 naming the known models otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise InvalidRequest(
                f"unknown model {name!r}; this server has: {', '.join(sorted(self._entries))}", param="model"
            ) from None

    def canonical(self, name: str) -> str:
        return self.entry(name).name

    def backend(self, name: str) -> Backend:
        """The backend serving model `name`, built on first use."""
        entry = self.entry(name)
        with self._lock:
            if entry.name not in self._backends:
                factory = _import(BUILTIN_KINDS.get(entry.backend, entry.backend))
                try:
                    self._backends[entry.name] = factory(**entry.options)
                except TypeError as e:  # an option the backend's constructor does not take
                    raise ConfigError(f"invalid options for a {entry.backend!r} model: {e}; "
                                      f"fix the model's options") from None
            return self._backends[entry.name]

    def check_config(self) -> None:
        """Build every configured model's backend (cheap: no weights load), so a bad kind or option is
        found when a process starts, as one ConfigError naming the model, not by a user's request."""
        for name in self.model_names():
            try:
                self.backend(name)
            except (ConfigError, ModelUnavailable) as e:
                raise ConfigError(f"model {name!r}: {e.message} (fix it in ZOETROPE_CONFIG_FILE)",
                                  param="ZOETROPE_CONFIG_FILE") from None

    def servable(self, names: list[str]) -> tuple[list[str], dict[str, str]]:
        """Of `names`, those whose backend finds what it needs on this machine (its `preflight`: the
        weights, say), and why each other one cannot be served here. A setting missing from this process
        (an upstream model's key variable, say) is a ConfigError naming the model: the start is refused."""
        ready, missing = [], {}
        for name in names:
            environment = getattr(self.backend(name), "check_environment", None)
            if environment is not None:
                try:
                    environment()
                except ConfigError as e:
                    raise ConfigError(f"model {name!r}: {e.message}", param=e.param) from None
            check = getattr(self.backend(name), "preflight", None)
            try:
                if check is not None:
                    check()
                ready.append(name)
            except (ConfigError, ModelUnavailable) as e:
                missing[name] = e.message
        return ready, missing

    def listings(self) -> list[ModelListing]:
        return [ModelListing(id=n, model=e.name, backend_kind=e.backend) for n, e in self._entries.items()]

    def model_names(self) -> list[str]:
        """Canonical model names (what a worker serves)."""
        return sorted({e.name for e in self._entries.values()})


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process's registry, built from `zoetrope.config.get_config()`."""
    global _registry
    if _registry is None:
        from zoetrope.config import get_config

        _registry = Registry(get_config())
    return _registry


def reset_registry() -> None:
    global _registry
    _registry = None
