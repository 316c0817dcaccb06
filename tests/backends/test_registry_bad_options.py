"""A model entry whose options its backend does not take is refused when the config is checked at
startup, as one ConfigError naming the model, not a TypeError at a user's first request."""

from __future__ import annotations

import pytest

from zoetrope.backends.registry import Registry
from zoetrope.config import ModelEntry
from zoetrope.errors import ConfigError


class _Config:
    def __init__(self, *models: ModelEntry) -> None:
        self.models = list(models)


def test_an_option_the_backend_does_not_take_names_the_model_and_the_option():
    registry = Registry(_Config(ModelEntry(name="tiny", backend="bundled", options={"wieghts": "/models/x"})))
    with pytest.raises(ConfigError, match=r"model 'tiny'.*wieghts.*ZOETROPE_CONFIG_FILE"):
        registry.check_config()
