"""The HTTP API: an OpenAI-compatible `/v1` over the job store, with one error mapping."""

from zoetrope.api.app import create_app
from zoetrope.api.deps import Services

__all__ = ["Services", "create_app"]
