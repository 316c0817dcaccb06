"""Backends: the `Backend` protocol and the registry that maps model names to backends."""

from zoetrope.backends.base import (
    ALL_TASKS,
    Backend,
    Cancelled,
    Capabilities,
    GenerationRequest,
    Progress,
    StoryCard,
    no_progress,
)
from zoetrope.backends.registry import ModelListing, Registry, get_registry, reset_registry

__all__ = [
    "ALL_TASKS",
    "Backend",
    "Cancelled",
    "Capabilities",
    "GenerationRequest",
    "ModelListing",
    "Progress",
    "Registry",
    "StoryCard",
    "get_registry",
    "no_progress",
    "reset_registry",
]
