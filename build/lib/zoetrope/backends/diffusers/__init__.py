"""Real open-weight video models through `diffusers` (pip install 'zoetrope[diffusers]').

Importing this package needs neither diffusers nor weights: they load when a model first generates.
"""

from zoetrope.backends.diffusers.backend import DiffusersBackend, Family
from zoetrope.backends.diffusers.cogvideox import CogVideoXBackend
from zoetrope.backends.diffusers.ltx import LTXBackend
from zoetrope.backends.diffusers.options import DiffusersOptions
from zoetrope.backends.diffusers.wan import WanBackend

__all__ = ["CogVideoXBackend", "DiffusersBackend", "DiffusersOptions", "Family", "LTXBackend", "WanBackend"]
