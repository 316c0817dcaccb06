"""Sizes and durations as clients write them ("720x1280", "4"), checked against a backend.

A backend generates only at its native sizes. A request for another size of a native aspect
ratio is generated at the nearest native size of that aspect and resized by the media layer;
the job's metadata records both. An aspect the backend has no native size for is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoetrope.backends.base import Capabilities
from zoetrope.backends.checks import ResultTooLong
from zoetrope.errors import InvalidRequest, UnsupportedByBackend
from zoetrope.jobs.request import is_decimal

# Aspect ratios within this relative difference count as the same (1792x1024 is 7:4, not 16:9,
# but it is what clients ask for when they mean landscape).
ASPECT_TOLERANCE = 0.03
MAX_SIDE = 4096


@dataclass(frozen=True)
class SizePlan:
    """What the client asked for and what the backend generates."""

    width: int
    height: int
    native_width: int
    native_height: int

    @property
    def resized(self) -> bool:
        return (self.width, self.height) != (self.native_width, self.native_height)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def native_size(self) -> str:
        return f"{self.native_width}x{self.native_height}"


def parse_size(size: str, *, param: str = "size") -> tuple[int, int]:
    try:
        sides = size.lower().split("x")
        if not all(side.isascii() and side.isdigit() for side in sides):  # not "６４", "+64", " 64"
            raise ValueError
        w, h = (int(side) for side in sides)
    except ValueError:
        raise InvalidRequest(
            f"size must be WIDTHxHEIGHT like '720x1280', not {size!r}", param=param
        ) from None
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise InvalidRequest(f"size {size!r} is out of range: each side must be 16..{MAX_SIDE}", param=param)
    return w, h


def plan_size(size: str, caps: Capabilities, model: str) -> SizePlan:
    """The native size that serves `size`; UnsupportedByBackend naming the sizes it can do."""
    w, h = parse_size(size)
    ratio = w / h
    same_aspect = [(nw, nh) for nw, nh in caps.sizes if abs(nw / nh - ratio) / ratio <= ASPECT_TOLERANCE]
    if not same_aspect:
        natives = ", ".join(f"{nw}x{nh}" for nw, nh in caps.sizes)
        raise UnsupportedByBackend(
            f"{model} cannot make {size} (aspect {w / h:.3g}:1); it generates {natives} and any size of "
            f"those aspect ratios",
            param="size",
        )
    nw, nh = min(same_aspect, key=lambda s: abs(math.log((s[0] * s[1]) / (w * h))))
    return SizePlan(w, h, nw, nh)


def size_for_source(width: int, height: int, caps: Capabilities, max_short: int | None = None) -> str:
    """The size a task makes when the client names none and its source (a video to extend or edit,
    an image to animate) is width x height: the source's own where the backend makes its aspect;
    else the backend's nearest aspect, just large enough to hold the source whole (letterboxed into
    it, at its own scale: kept footage stays as it was, with bars). Scaled down so that its short
    side is at most `max_short` (a plan's resolution); sides even (H.264's 4:2:0 would pad an odd
    one) and within 16..MAX_SIDE."""
    ratio = width / height
    nw, nh = min(caps.sizes, key=lambda s: abs(math.log(s[0] / s[1] / ratio)))
    aspect = nw / nh
    if abs(aspect - ratio) / ratio <= ASPECT_TOLERANCE:
        aspect = ratio
    w, h = (height * aspect, height) if ratio < aspect else (width, width / aspect)
    scale = min(MAX_SIDE / max(w, h), 1.0 if max_short is None else max_short / min(w, h), 1.0)
    scale = max(scale, 16 / min(w, h))
    even = tuple(2 * math.ceil(side * scale / 2 - 1e-6) for side in (w, h))
    if abs(nw / nh - even[0] / even[1]) / (even[0] / even[1]) > ASPECT_TOLERANCE:  # as `plan_size` checks
        # Rounding a small picture's sides moved it off the aspect: the native size's own, scaled.
        most = MAX_SIDE // max(nw, nh) if max_short is None else max_short // min(nw, nh)
        k = max(1, min(most, round(max(w * scale / nw, h * scale / nh))))
        even = (nw * k, nh * k)
    return f"{even[0]}x{even[1]}"


def default_size(default: str, caps: Capabilities, max_short: int | None = None) -> str:
    """The size made when the client names none (no source to take it from): `default` where the
    backend makes its aspect, else the backend's first native size; scaled down so that its short
    side is at most `max_short` (a plan's resolution), never up, its sides even."""
    w, h = parse_size(default)
    if not any(abs(nw / nh - w / h) / (w / h) <= ASPECT_TOLERANCE for nw, nh in caps.sizes):
        w, h = caps.sizes[0]
    if max_short is not None and min(w, h) > max_short:
        short = max(16, max_short - max_short % 2)
        long = 2 * round(max(w, h) * short / min(w, h) / 2)
        w, h = (short, long) if w <= h else (long, short)
    return f"{w}x{h}"


def parse_seconds(
    seconds: str | int | float, caps: Capabilities, model: str, *, param: str = "seconds"
) -> float:
    """Seconds as a positive number of at least one frame. Not checked against the longest the
    backend makes: what that limits is the result (`check_model_seconds`, or `check_request` for a
    task that adds to a source), and a caller whose plan allows less answers the plan's refusal."""
    try:
        if isinstance(seconds, str) and not is_decimal(seconds):  # not "١٢", "４", "1_0", "inf"
            raise ValueError
        value = float(seconds)
    except (TypeError, ValueError):
        raise InvalidRequest(
            f"seconds must be a number in ASCII digits like '4', not {seconds!r}", param=param
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidRequest(f"seconds must be positive, not {seconds!r}", param=param)
    if value * caps.fps < 1 - 1e-9:
        raise InvalidRequest(
            f"seconds must be at least one frame: {1 / caps.fps:.3g} s at {model}'s {caps.fps} fps, "
            f"not {seconds!r}",
            param=param,
        )
    return value


def check_model_seconds(value: float, caps: Capabilities, model: str, *, param: str = "seconds") -> None:
    """ResultTooLong (400, with the backend's limit) when a whole video of `value` seconds is longer
    than the backend makes; the longest it makes is the advice, and is accepted when sent back."""
    if value > caps.max_seconds:
        raise ResultTooLong(
            f"{model} makes at most {caps.max_seconds:g} s; ask for {caps.max_seconds:g} s or fewer",
            param=param,
            limit=caps.max_seconds,
            code=UnsupportedByBackend.code,
        )


def seconds_str(value: float) -> str:
    """'4' for 4.0, '2.5' for 2.5: how the video object writes durations."""
    return f"{round(value, 3):g}"
