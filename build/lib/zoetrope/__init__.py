"""Zoetrope: an open, self-hostable text-to-video generator and the platform around it."""

from zoetrope.errors import ZoetropeError

__version__ = "0.1.0"
__all__ = ["ZoetropeError", "__version__"]
