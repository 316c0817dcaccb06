"""Captions of scenes: templates with synonyms, in short and long forms, in two separate styles."""

from __future__ import annotations

import numpy as np

from zoetrope.world.phrases import (
    BACKDROP_WORDS,
    BACKGROUND_PHRASES,
    CAMERA_PHRASES,
    COLOR_WORDS,
    FRAMES,
    GROUND_WORDS,
    INVERSE_RELATION,
    MOTION_PHRASES,
    OCCLUSION_PHRASES,
    RELATION_PARAPHRASES,
    RELATION_VARIED,
    RELATION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    SKY_WORDS,
    SPEED_WORDS,
)
from zoetrope.world.scene import Background, Scene, WorldObject
from zoetrope.world.vocab import LINEAR_MOTIONS

STYLES = ("train", "paraphrase", "varied")
FORMS = ("short", "long")
SPEED_MOTIONS = (*LINEAR_MOTIONS, "spin", "orbit")  # motions whose caption may say how fast


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def _noun(obj: WorldObject, rng: np.random.Generator, style: str, long: bool) -> str:
    color, shape = _pick(rng, COLOR_WORDS[obj.color]), _pick(rng, SHAPE_WORDS[obj.shape])
    size = _pick(rng, SIZE_WORDS[obj.size]) + " " if long else ""
    if style == "paraphrase" and rng.random() < 0.5:
        return _article(f"{size}{shape} colored {color}")
    if style == "varied" and rng.random() < 0.4:
        return _article(f"{size}{shape} that is {color}")
    return _article(f"{size}{color} {shape}")


def _motion(obj: WorldObject, rng: np.random.Generator, style: str, long: bool) -> str:
    to = _pick(rng, COLOR_WORDS[obj.color_to]) if obj.color_to else ""
    phrase = _pick(rng, MOTION_PHRASES[style][obj.motion]).format(to=to)
    if obj.motion in SPEED_MOTIONS and (long or rng.random() < 0.3):
        phrase += " " + _pick(rng, SPEED_WORDS[style][obj.speed])
    return phrase


def _background(bg: Background, rng: np.random.Generator, style: str) -> str:
    template = _pick(rng, BACKGROUND_PHRASES[style][bg.kind])
    if bg.kind == "sky":
        return template.format(a=_pick(rng, SKY_WORDS[bg.color]), b=GROUND_WORDS[bg.color2 or "earth"])
    return template.format(a=BACKDROP_WORDS[bg.color], b=BACKDROP_WORDS.get(bg.color2 or "", ""))


def _relation_sentence(scene: Scene, rng: np.random.Generator, style: str, long: bool) -> str:
    rel = scene.relation
    assert rel is not None
    a, b = scene.objects[rel.subject], scene.objects[rel.object]
    na, nb = _noun(a, rng, style, long), _noun(b, rng, style, long)
    if long:
        na = f"{na}, which {_motion(a, rng, style, long)},"
        nb = f"{nb}, which {_motion(b, rng, style, long)}"
    if style == "paraphrase":
        return f"there is {nb} with {na.rstrip(',')} {RELATION_PARAPHRASES[rel.relation]}"
    words, verb = (RELATION_VARIED, " is") if style == "varied" else (RELATION_WORDS, "")
    if rng.random() < 0.5:
        return f"{na}{verb} {_pick(rng, words[rel.relation])} {nb}"
    nb_first = nb + ("," if long else "")
    return f"{nb_first}{verb} {_pick(rng, words[INVERSE_RELATION[rel.relation]])} {na.rstrip(',')}"


def _scene_sentence(scene: Scene, rng: np.random.Generator, style: str, long: bool) -> str:
    if scene.relation is not None:
        return _relation_sentence(scene, rng, style, long)
    if scene.occlusion:
        mover, screen = scene.objects
        behind = _pick(rng, OCCLUSION_PHRASES[style]).format(b=_noun(screen, rng, style, long))
        return f"{_noun(mover, rng, style, long)} {_motion(mover, rng, style, long)} and {behind}"
    clauses = [f"{_noun(o, rng, style, long)} {_motion(o, rng, style, long)}" for o in scene.objects]
    if len(clauses) == 1:
        return clauses[0]
    return ", ".join(clauses[:-1]) + " and " + clauses[-1]


def caption(scene: Scene, rng: np.random.Generator, *, style: str = "train", form: str | None = None) -> str:
    """One caption of `scene`. style "train", "varied" (both for training) or "paraphrase" (held out; disjoint
    templates); form "short", "long" or random."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    form = form or _pick(rng, FORMS)
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")
    long = form == "long"
    sentence = _scene_sentence(scene, rng, style, long)
    if scene.camera.motion != "static" and (long or rng.random() < 0.5):
        cam = _pick(rng, CAMERA_PHRASES[style][scene.camera.motion])
        sentence += {"train": f" as {cam}", "paraphrase": f", {cam}", "varied": f" {cam}"}[style]
    text = _pick(rng, FRAMES[style][form]).format(s=sentence, bg=_background(scene.background, rng, style))
    return text[0].upper() + text[1:] if style == "paraphrase" else text
