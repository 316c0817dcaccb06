"""Scenes as typed values, and `sample_scene`, which draws one at random from the world."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from zoetrope.world.vocab import (
    ALL_COMBOS,
    BACKDROP_COLORS,
    BACKGROUNDS,
    CAMERA_MOTIONS,
    COLORS,
    GROUND_COLORS,
    HELD_OUT,
    LINEAR_MOTIONS,
    MOTIONS,
    NOMINAL_SECONDS,
    RELATIONS,
    SIZES,
    SKY_COLORS,
    SPEEDS,
    STATIONARY_MOTIONS,
)

SPLITS = ("train", "heldout")
# Motions that keep each object of a crowd in its own column of the frame.
CROWD_MOTIONS = (
    "up",
    "down",
    "still",
    "bounce",
    "spin",
    "grow",
    "shrink",
    "fade in",
    "fade out",
    "color change",
)


@dataclass(frozen=True)
class WorldObject:
    """One object: what it is, where it starts (frame fractions) and how it moves."""

    shape: str
    color: str
    size: str = "medium"
    motion: str = "still"
    speed: str = "slow"
    x: float = 0.5  # start (or orbit centre), fraction of the width
    y: float = 0.5  # fraction of the height, downwards
    angle: float = 0.0  # radians
    phase: float = 0.0  # orbit start angle, radians
    color_to: str | None = None  # the second color of "color change"


@dataclass(frozen=True)
class Background:
    """solid: `color`; gradient: `color` at the top to `color2` at the bottom; sky: sky `color` over ground `color2`."""

    kind: str = "solid"
    color: str = "gray"
    color2: str | None = None
    horizon: float = 0.7  # sky only: where the ground starts, fraction of the height


@dataclass(frozen=True)
class Camera:
    motion: str = "static"


@dataclass(frozen=True)
class Relation:
    """objects[subject] is `relation` objects[object], e.g. 0 "left of" 1."""

    subject: int
    relation: str
    object: int


@dataclass(frozen=True)
class Scene:
    """A clip's full description. Objects are drawn in order, so later ones pass in front."""

    background: Background
    objects: tuple[WorldObject, ...]
    camera: Camera = field(default_factory=Camera)
    relation: Relation | None = None
    occlusion: bool = False  # objects[0] passes behind objects[1] and comes out again

    def combos(self) -> tuple[tuple[str, str, str], ...]:
        """The (color, shape, motion) of every object."""
        return tuple((o.color, o.shape, o.motion) for o in self.objects)


@lru_cache(maxsize=64)
def _pool(split: str, motions: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    held = split == "heldout"
    return tuple(c for c in ALL_COMBOS if (c in HELD_OUT) == held and c[2] in motions)


@lru_cache(maxsize=256)
def _options(
    pool_key: tuple[str, tuple[str, ...]], motions: tuple[str, ...]
) -> tuple[tuple[str, str, str], ...]:
    return tuple(c for c in _pool(*pool_key) if c[2] in motions)


def _pick(rng: np.random.Generator, pool_key, motions, used_colors) -> tuple[str, str, str] | None:
    """A random allowed combination with `motions` whose color is not used yet, or None."""
    options = _options(pool_key, tuple(motions))
    for _ in range(8):  # rejection is cheap and usually succeeds at once
        if not options:
            return None
        combo = options[int(rng.integers(len(options)))]
        if combo[0] not in used_colors:
            return combo
    options = tuple(c for c in options if c[0] not in used_colors)
    return options[int(rng.integers(len(options)))] if options else None


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _make(
    rng, combo, *, x: float, y: float, size: str | None = None, speed: str | None = None
) -> WorldObject:
    color, shape, motion = combo
    size = size or str(rng.choice(list(SIZES)))
    speed = speed or str(rng.choice(list(SPEEDS)))
    if motion in LINEAR_MOTIONS:  # centre the path of a nominal clip on (x, y)
        dx, dy = LINEAR_MOTIONS[motion]
        half = SPEEDS[speed] * NOMINAL_SECONDS / 2
        x, y = x - dx * half, y - dy * half
    elif motion == "bounce":
        y = _u(rng, 0.12, 0.3)
    color_to = None
    if motion == "color change":
        color_to = str(rng.choice([c for c in COLORS if c != color]))
    return WorldObject(
        shape=shape,
        color=color,
        size=size,
        motion=motion,
        speed=speed,
        x=x,
        y=y,
        angle=_u(rng, -0.3, 0.3),
        phase=_u(rng, 0, 2 * np.pi),
        color_to=color_to,
    )


def _background(rng: np.random.Generator, kinds: tuple[str, ...]) -> Background:
    kind = str(rng.choice(kinds))
    if kind == "solid":
        return Background("solid", str(rng.choice(list(BACKDROP_COLORS))))
    if kind == "gradient":
        top, bottom = rng.choice(list(BACKDROP_COLORS), size=2, replace=False)
        return Background("gradient", str(top), str(bottom))
    return Background(
        "sky",
        str(rng.choice(list(SKY_COLORS))),
        str(rng.choice(list(GROUND_COLORS))),
        horizon=_u(rng, 0.68, 0.8),
    )


def sample_scene(
    rng: np.random.Generator,
    *,
    split: str = "train",
    max_objects: int = 3,
    motions: tuple[str, ...] | None = None,
    backgrounds: tuple[str, ...] | None = None,
    camera: bool = True,
) -> Scene:
    """A random scene. "train" never uses a HELD_OUT (color, shape, motion); "heldout" uses only those."""
    motions = tuple(motions) if motions else MOTIONS
    if unknown := set(motions) - set(MOTIONS):
        raise ValueError(f"unknown motions {sorted(unknown)}")
    kinds = tuple(backgrounds) if backgrounds else BACKGROUNDS
    if unknown := set(kinds) - set(BACKGROUNDS):
        raise ValueError(f"unknown backgrounds {sorted(unknown)}")
    pool = (split, motions)
    if not _pool(*pool):
        raise ValueError(f"no {split} combinations use the motions {motions}")
    layouts = ["single"]
    if max_objects >= 2:
        layouts += ["crowd", "relation", "occlusion"]
    weights = np.array([0.4, 0.25, 0.2, 0.15][: len(layouts)])
    while True:
        layout = str(rng.choice(layouts, p=weights / weights.sum()))
        objects = _LAYOUTS[layout](rng, pool, max_objects)
        if objects is not None:
            break
    objs, relation = objects
    cam = Camera()
    if camera and all(o.motion in STATIONARY_MOTIONS for o in objs) and rng.random() < 0.35:
        cam = Camera(str(rng.choice(CAMERA_MOTIONS[1:])))
    return Scene(_background(rng, kinds), tuple(objs), cam, relation, occlusion=layout == "occlusion")


def _single(rng, pool, max_objects):
    combo = _pick(rng, pool, MOTIONS, ())
    return [_make(rng, combo, x=_u(rng, 0.38, 0.62), y=_u(rng, 0.38, 0.62))], None


def _crowd(rng, pool, max_objects):
    n = int(rng.integers(2, min(3, max_objects) + 1))
    columns = (0.3, 0.7) if n == 2 else (0.18, 0.5, 0.82)
    sizes = ("small", "medium") if n == 3 else tuple(SIZES)
    objs: list[WorldObject] = []
    for x in columns:
        combo = _pick(rng, pool, CROWD_MOTIONS, {o.color for o in objs})
        if combo is None:
            return None
        objs.append(
            _make(rng, combo, x=x + _u(rng, -0.03, 0.03), y=_u(rng, 0.4, 0.6), size=str(rng.choice(sizes)))
        )
    return objs, None


def _relation(rng, pool, max_objects):
    first = _pick(rng, pool, STATIONARY_MOTIONS, ())
    second = first and _pick(rng, pool, STATIONARY_MOTIONS, {first[0]})
    if second is None:
        return None
    rel = str(rng.choice(RELATIONS))
    a, b, c = _u(rng, 0.25, 0.32), _u(rng, 0.68, 0.75), _u(rng, 0.4, 0.6)
    near, far = (a, b) if rel in ("left of", "above") else (b, a)
    horizontal = rel in ("left of", "right of")
    pos0 = (near, c + _u(rng, -0.06, 0.06)) if horizontal else (c + _u(rng, -0.06, 0.06), near)
    pos1 = (far, c) if horizontal else (c, far)
    objs = [_make(rng, first, x=pos0[0], y=pos0[1]), _make(rng, second, x=pos1[0], y=pos1[1])]
    return objs, Relation(0, rel, 1)


def _occlusion(rng, pool, max_objects):
    mover = _pick(rng, pool, ("left", "right"), ())
    screen = mover and _pick(rng, pool, ("still",), {mover[0]})
    if screen is None:
        return None
    x, y = _u(rng, 0.45, 0.55), _u(rng, 0.4, 0.6)
    behind = _make(rng, mover, x=x, y=y, size="small", speed="fast")
    return [behind, _make(rng, screen, x=x, y=y, size="medium")], None


_LAYOUTS = {"single": _single, "crowd": _crowd, "relation": _relation, "occlusion": _occlusion}
