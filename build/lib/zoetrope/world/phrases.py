"""Words for captions: synonyms shared by every style, and phrases that belong to one style only.

"train" phrases teach the model; "paraphrase" phrases never occur in training captions and
measure whether the model understood the scene rather than memorised the sentence. "varied" is a
second training style with other verbs, word orders and filler (`zoetrope train dit
--varied-captions`), so that the model learns the scene from the words' meaning; it shares no
phrase with "paraphrase" either.
"""

from __future__ import annotations

COLOR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "crimson", "scarlet"),
    "orange": ("orange", "tangerine"),
    "yellow": ("yellow", "golden", "lemon"),
    "green": ("green", "emerald"),
    "cyan": ("cyan", "turquoise", "aqua"),
    "blue": ("blue", "azure", "cobalt"),
    "purple": ("purple", "violet"),
    "pink": ("pink", "magenta", "rose"),
}
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc", "ball"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle",),
    "star": ("star",),
    "ring": ("ring", "hoop", "donut"),
    "cross": ("cross", "plus sign"),
    "heart": ("heart",),
}
SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "medium": ("medium-sized", "mid-sized"),
    "large": ("large", "big"),
}
RELATION_WORDS: dict[str, tuple[str, ...]] = {
    "left of": ("to the left of", "left of"),
    "right of": ("to the right of", "right of"),
    "above": ("above", "over"),
    "below": ("below", "underneath"),
}
INVERSE_RELATION = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
BACKDROP_WORDS: dict[str, str] = {
    "black": "black",
    "charcoal": "charcoal",
    "gray": "gray",
    "silver": "silver",
    "white": "white",
    "cream": "cream",
    "sand": "sandy",
    "slate": "slate",
}
SKY_WORDS = {"day": ("bright", "clear"), "dusk": ("dusk", "evening"), "night": ("night", "dark")}
GROUND_WORDS = {"earth": "earth", "meadow": "grassy ground", "stone": "stony ground"}

# Motion phrases per style; "{to}" is replaced by the second color of a color change.
_DIRS = {
    "left": ("left", "to the left"),
    "right": ("right", "to the right"),
    "up": ("up", "upward"),
    "down": ("down", "downward"),
    "up-left": ("up and to the left", "diagonally up and left"),
    "up-right": ("up and to the right", "diagonally up and right"),
    "down-left": ("down and to the left", "diagonally down and left"),
    "down-right": ("down and to the right", "diagonally down and right"),
}
_PARA_DIRS = {
    "left": "toward the left edge",
    "right": "toward the right edge",
    "up": "toward the top",
    "down": "toward the bottom",
    "up-left": "toward the top left corner",
    "up-right": "toward the top right corner",
    "down-left": "toward the bottom left corner",
    "down-right": "toward the bottom right corner",
}
_VARIED_DIRS = {
    "left": ("leftward", "from right to left", "in the left direction"),
    "right": ("rightward", "from left to right", "in the right direction"),
    "up": ("upwards", "higher and higher", "in the upward direction"),
    "down": ("downwards", "lower and lower", "in the downward direction"),
    "up-left": ("to the upper left", "diagonally to the upper left"),
    "up-right": ("to the upper right", "diagonally to the upper right"),
    "down-left": ("to the lower left", "diagonally to the lower left"),
    "down-right": ("to the lower right", "diagonally to the lower right"),
}


def _moving(verbs: tuple[str, ...], dirs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every verb with every way of saying each direction."""
    return {m: tuple(f"{verb} {d}" for verb in verbs for d in ds) for m, ds in dirs.items()}


MOTION_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        **_moving(("moves", "glides", "slides", "drifts"), _DIRS),
        "still": ("stays still", "rests in place", "sits motionless"),
        "bounce": ("bounces", "falls and bounces", "bounces on the ground"),
        "orbit": ("orbits", "orbits around a point", "goes round and round"),
        "spin": ("spins", "rotates", "turns in place"),
        "grow": ("grows", "gets bigger", "expands"),
        "shrink": ("shrinks", "gets smaller", "contracts"),
        "fade in": ("fades in", "appears gradually"),
        "fade out": ("fades out", "disappears gradually"),
        "color change": ("turns {to}", "changes color to {to}", "becomes {to}"),
    },
    "paraphrase": {
        **{m: (f"heads {d}", f"travels {d}", f"makes its way {d}") for m, d in _PARA_DIRS.items()},
        "still": ("does not move at all", "remains where it is"),
        "bounce": ("hops up and down off the floor", "drops and rebounds several times"),
        "orbit": ("travels along a loop around a fixed center", "keeps revolving about a center"),
        "spin": ("twirls about its center", "keeps revolving on the spot"),
        "grow": ("swells in size", "becomes larger and larger"),
        "shrink": ("dwindles in size", "becomes smaller and smaller"),
        "fade in": ("emerges out of nothing", "materializes bit by bit"),
        "fade out": ("vanishes bit by bit", "dissolves into nothing"),
        "color change": ("shifts its hue to {to}", "ends up {to} in color"),
    },
    "varied": {
        **_moving(("is moving", "floats", "shifts", "rolls", "coasts"), _VARIED_DIRS),
        "still": ("holds still", "stays put", "is not moving", "keeps its position"),
        "bounce": ("keeps bouncing", "bounces along the ground", "drops to the ground and bounces back"),
        "orbit": ("circles around a point", "moves along a round path", "goes around in circles"),
        "spin": ("is spinning", "rotates in place", "whirls around"),
        "grow": ("gets larger", "increases in size", "is growing"),
        "shrink": ("gets tinier", "decreases in size", "is shrinking"),
        "fade in": ("fades into view", "comes into view"),
        "fade out": ("fades from view", "fades away"),
        "color change": ("changes to {to}", "goes {to}", "switches color to {to}"),
    },
}
SPEED_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {"slow": ("slowly", "gently"), "fast": ("quickly", "rapidly")},
    "paraphrase": {"slow": ("at a leisurely pace", "unhurriedly"), "fast": ("at high speed", "swiftly")},
    "varied": {"slow": ("lazily", "calmly", "at a crawl"), "fast": ("fast", "briskly", "speedily")},
}
CAMERA_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "train": {
        "pan left": ("the camera pans left",),
        "pan right": ("the camera pans right",),
        "pan up": ("the camera pans up",),
        "pan down": ("the camera pans down",),
        "zoom in": ("the camera zooms in", "the view zooms in"),
        "zoom out": ("the camera zooms out", "the view zooms out"),
    },
    "paraphrase": {
        "pan left": ("with the viewpoint sweeping leftward",),
        "pan right": ("with the viewpoint sweeping rightward",),
        "pan up": ("with the viewpoint tilting upward",),
        "pan down": ("with the viewpoint tilting downward",),
        "zoom in": ("while the shot pushes closer",),
        "zoom out": ("while the shot pulls back",),
    },
    "varied": {
        "pan left": ("with the camera panning left",),
        "pan right": ("with the camera panning right",),
        "pan up": ("with the camera panning up",),
        "pan down": ("with the camera panning down",),
        "zoom in": ("with the camera zooming in",),
        "zoom out": ("with the camera zooming out",),
    },
}
OCCLUSION_PHRASES = {
    "train": ("passes behind {b} and comes out the other side", "goes behind {b} and reappears"),
    "paraphrase": ("slips out of sight behind {b} before emerging again",),
    "varied": ("disappears behind {b} and then reappears", "moves behind {b} and out again"),
}
BACKGROUND_PHRASES = {
    "train": {
        "solid": ("on a {a} background", "against a {a} backdrop"),
        "gradient": ("on a {a} to {b} gradient", "against a gradient from {a} to {b}"),
        "sky": ("with a {a} sky and {b} in the distance", "in a landscape of {a} sky and {b}"),
    },
    "paraphrase": {
        "solid": ("set in front of a plain {a} wall",),
        "gradient": ("in front of a wall that fades from {a} into {b}",),
        "sky": ("in scenery made of a {a} sky meeting {b}",),
    },
    "varied": {
        "solid": ("over a {a} background", "before a {a} background"),
        "gradient": ("over a {a}-to-{b} gradient", "with a background that goes from {a} to {b}"),
        "sky": ("under a {a} sky, on {b}", "beneath a {a} sky, on {b}"),
    },
}
RELATION_PARAPHRASES = {
    "left of": "on its left side",
    "right of": "on its right side",
    "above": "hovering over it",
    "below": "resting beneath it",
}
RELATION_VARIED: dict[str, tuple[str, ...]] = {
    "left of": ("on the left of", "to the left side of"),
    "right of": ("on the right of", "to the right side of"),
    "above": ("higher than", "up above"),
    "below": ("lower than", "down below"),
}
# Sentence frames: "{s}" is the scene sentence, "{bg}" the backdrop phrase.
FRAMES = {
    "train": {"short": ("{s}",), "long": ("{s}, {bg}", "{bg}, {s}")},
    "paraphrase": {
        "short": ("Watch as {s}", "In this video, {s}"),
        "long": ("The clip shows how {s}, {bg}", "Here we see that {s}, {bg}"),
    },
    "varied": {
        "short": ("{s}", "a scene where {s}", "footage where {s}", "an animation in which {s}"),
        "long": ("a video where {s}, {bg}", "{bg}: {s}", "{s}; {bg}", "an animation in which {s}, {bg}"),
    },
}
