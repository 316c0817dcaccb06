"""The world's vocabulary: colors, shapes, sizes, motions, backgrounds and the held-out combinations.

Positions are fractions of the frame (x across the width, y down the height); sizes and
orbit radii are fractions of the frame's shorter side, so a scene keeps its composition
and its round circles at any size and aspect ratio. Speeds are per second of clip time.
"""

from __future__ import annotations

import zlib

# Saturated object colors, chosen so their hues are at least 25 degrees apart.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (225, 30, 35),
    "orange": (245, 130, 20),
    "yellow": (240, 215, 25),
    "green": (40, 185, 50),
    "cyan": (20, 200, 215),
    "blue": (35, 75, 230),
    "purple": (140, 45, 210),
    "pink": (235, 60, 170),
}

# Muted backdrop tones (low saturation, so every object color stands out on every backdrop).
BACKDROP_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (12, 12, 14),
    "charcoal": (52, 54, 58),
    "gray": (120, 120, 124),
    "silver": (180, 182, 186),
    "white": (238, 238, 236),
    "cream": (232, 224, 200),
    "sand": (190, 175, 145),
    "slate": (84, 96, 110),
}
SKY_COLORS: dict[str, tuple[int, int, int]] = {
    "day": (165, 195, 220),
    "dusk": (120, 110, 140),
    "night": (25, 30, 50),
}
GROUND_COLORS: dict[str, tuple[int, int, int]] = {
    "earth": (100, 88, 70),
    "meadow": (95, 115, 80),
    "stone": (110, 110, 105),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "ring", "cross", "heart")
# Shapes that look the same at every rotation: spinning them shows nothing.
ROUND_SHAPES: frozenset[str] = frozenset({"circle", "ring"})

SIZES: dict[str, float] = {"small": 0.16, "medium": 0.22, "large": 0.3}  # diameter / shorter side

LINEAR_MOTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
    "down": (0.0, 1.0),
    "up-left": (-0.7071, -0.7071),
    "up-right": (0.7071, -0.7071),
    "down-left": (-0.7071, 0.7071),
    "down-right": (0.7071, 0.7071),
}
MOTIONS: tuple[str, ...] = (
    *LINEAR_MOTIONS,
    "still",
    "bounce",
    "orbit",
    "spin",
    "grow",
    "shrink",
    "fade in",
    "fade out",
    "color change",
)
# Motions that keep an object where it is: safe with relations and camera moves.
STATIONARY_MOTIONS: tuple[str, ...] = ("still", "spin", "grow", "shrink", "color change")

SPEEDS: dict[str, float] = {"slow": 0.1, "fast": 0.3}  # linear speed, frame fractions per second
SPIN_RATES: dict[str, float] = {"slow": 1.5, "fast": 4.0}  # radians per second
ORBIT_RATES: dict[str, float] = {"slow": 1.6, "fast": 3.2}  # radians per second
ORBIT_RADIUS = 0.16  # shorter-side fractions
GRAVITY = 2.2  # frame heights per second squared
RESTITUTION = 0.75
GROW_RATE = 0.45  # scale = exp(+-rate * t)
FADE_SECONDS = (0.2, 1.6)  # the fade runs between these times
COLOR_CHANGE_SECONDS = (0.5, 1.5)
NOMINAL_SECONDS = 2.0  # start positions keep moving objects in view for this long

BACKGROUNDS: tuple[str, ...] = ("solid", "gradient", "sky")
CAMERA_MOTIONS: tuple[str, ...] = (
    "static",
    "pan left",
    "pan right",
    "pan up",
    "pan down",
    "zoom in",
    "zoom out",
)
CAMERA_PAN_SPEED = 0.12  # frame fractions per second
CAMERA_ZOOM_RATE = 0.25  # zoom = exp(+-rate * t)
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")


def _combo_allowed(shape: str, motion: str) -> bool:
    return not (motion == "spin" and shape in ROUND_SHAPES)


ALL_COMBOS: tuple[tuple[str, str, str], ...] = tuple(
    (c, s, m) for c in COLORS for s in SHAPES for m in MOTIONS if _combo_allowed(s, m)
)
# About one combination in ten, chosen by a stable hash so the split never changes.
HELD_OUT: frozenset[tuple[str, str, str]] = frozenset(
    combo for combo in ALL_COMBOS if zlib.crc32("/".join(combo).encode()) % 10 == 3
)
