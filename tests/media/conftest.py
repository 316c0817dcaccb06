"""Test media for tests/media: smooth synthetic frames and a way to tighten upload limits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def _smooth_frames(count: int = 12, height: int = 48, width: int = 64) -> np.ndarray:
    """Return uint8 (count, height, width, 3) moving colour gradients (easy for a video codec)."""
    t, y, x = np.meshgrid(np.arange(count), np.arange(height), np.arange(width), indexing="ij")
    red = 128 + 100 * np.sin(2 * np.pi * (x / width) + 0.3 * t)
    green = 128 + 100 * np.cos(2 * np.pi * (y / height) - 0.2 * t)
    blue = 64 + 128 * (x + y) / (width + height)
    return np.stack([red, green, blue + 0 * t], axis=-1).round().astype(np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture
def smooth_frames() -> Callable[..., np.ndarray]:
    """Return a function making uint8 (T, H, W, 3) smooth moving gradients: (count, height, width)."""
    return _smooth_frames


@pytest.fixture
def psnr() -> Callable[[np.ndarray, np.ndarray], float]:
    """Return a function giving the PSNR in dB of two uint8 arrays."""
    return _psnr


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Return a function that sets ZOETROPE_MAX_* limits for the rest of the test."""
    from zoetrope.settings import get_settings

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"ZOETROPE_{name.upper()}", str(value))
        get_settings.cache_clear()

    return set_limits
