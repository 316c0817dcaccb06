"""Captions: every caption says what its scene shows, and the held-out style shares no phrase with the training ones."""

from __future__ import annotations

import re

import numpy as np
import pytest

from zoetrope.world import caption, sample_scene
from zoetrope.world.phrases import (
    CAMERA_PHRASES,
    COLOR_WORDS,
    MOTION_PHRASES,
    RELATION_VARIED,
    RELATION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
)

ALL_COLOR_WORDS = {w: c for c, ws in COLOR_WORDS.items() for w in ws}
ALL_SHAPE_WORDS = {w: s for s, ws in SHAPE_WORDS.items() for w in ws}


def _has(text: str, phrase: str) -> bool:
    pattern = re.escape(phrase).replace(re.escape("{to}"), "(" + "|".join(ALL_COLOR_WORDS) + ")")
    return re.search(rf"\b{pattern}\b", text) is not None


def _motion_said(text: str, motion: str, style: str) -> bool:
    return any(_has(text, p) for p in MOTION_PHRASES[style][motion])


def _motions_said(text: str, style: str) -> set[str]:
    """Motions whose phrases occur, longest phrases first, so "down" is not read in "down and to the right"."""
    table = sorted(
        ((p, m) for m, ps in MOTION_PHRASES[style].items() for p in ps), key=lambda pm: -len(pm[0])
    )
    said = set()
    for phrase, motion in table:
        pattern = re.escape(phrase).replace(re.escape("{to}"), "(" + "|".join(ALL_COLOR_WORDS) + ")")
        text, hits = re.subn(rf"\b{pattern}\b", "#", text)
        said |= {motion} if hits else set()
    return said


def _check(scene, text: str, style: str, form: str) -> None:
    text = text.lower()
    colors = {c for o in scene.objects for c in (o.color, o.color_to) if c}
    assert {c for w, c in ALL_COLOR_WORDS.items() if _has(text, w)} <= colors, text
    assert {s for w, s in ALL_SHAPE_WORDS.items() if _has(text, w)} == {o.shape for o in scene.objects}, text
    for i, obj in enumerate(scene.objects):
        assert any(_has(text, w) for w in COLOR_WORDS[obj.color]), text
        quiet = (scene.occlusion and i == 1) or (scene.relation and form == "short")
        if not quiet:
            assert _motion_said(text, obj.motion, style), (obj.motion, text)
        if form == "long":
            assert any(_has(text, w) for w in SIZE_WORDS[obj.size]), text
    said = _motions_said(text, style)
    assert said <= {o.motion for o in scene.objects}, (said, text)
    if scene.relation and style in ("train", "varied"):
        rel = scene.relation.relation
        inverse = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}[rel]
        words = RELATION_VARIED if style == "varied" else RELATION_WORDS
        assert any(_has(text, w) for w in words[rel] + words[inverse]), text
    if form == "long" and scene.camera.motion != "static":
        assert any(p.lower() in text for p in CAMERA_PHRASES[style][scene.camera.motion]), text


def test_every_caption_matches_its_scene():
    rng = np.random.default_rng(0)
    for _ in range(400):
        scene = sample_scene(rng)
        for style in ("train", "paraphrase", "varied"):
            for form in ("short", "long"):
                _check(scene, caption(scene, rng, style=style, form=form), style, form)


def test_captions_are_deterministic_and_varied():
    scene = sample_scene(np.random.default_rng(5))
    a = [caption(scene, np.random.default_rng(i)) for i in range(30)]
    assert a == [caption(scene, np.random.default_rng(i)) for i in range(30)]
    assert len(set(a)) > 5
    assert min(map(len, a)) < max(map(len, a))  # short and long forms


def _phrases(style: str) -> set[str]:
    from zoetrope.world import phrases

    out = set()
    for table in (phrases.MOTION_PHRASES, phrases.SPEED_WORDS, phrases.CAMERA_PHRASES):
        for words in table[style].values():
            out |= {w.split("{")[0].strip() for w in words}
    for words in phrases.BACKGROUND_PHRASES[style].values():
        out |= {w.split("{")[0].strip() for w in words}
    out |= {w.split("{")[0].strip() for w in phrases.OCCLUSION_PHRASES[style]}
    out |= {w.split("{")[0].strip() for ws in phrases.FRAMES[style].values() for w in ws}
    return {p for p in out if len(p.split()) >= 2 or style == "paraphrase"} - {""}


@pytest.mark.parametrize("style", ["train", "varied"])
def test_paraphrase_style_never_appears_in_training_captions(style):
    train_only, para_only = _phrases(style), _phrases("paraphrase")
    assert not train_only & para_only
    rng = np.random.default_rng(1)
    for _ in range(300):
        scene = sample_scene(rng)
        text = caption(scene, rng, style=style).lower()
        assert not [p for p in para_only if len(p) > 3 and _has(text, p.lower())], text


def test_varied_style_says_the_scene_in_other_words_than_the_train_style():
    train, varied = _phrases("train"), _phrases("varied")
    assert not train & varied
    rng = np.random.default_rng(2)
    scenes = [sample_scene(rng) for _ in range(50)]
    texts = {style: {caption(s, np.random.default_rng(i), style=style, form="long") for i, s in enumerate(scenes)}
             for style in ("train", "varied")}
    assert not texts["train"] & texts["varied"]


@pytest.mark.parametrize("style, table", [("train", RELATION_WORDS), ("varied", RELATION_VARIED)])
def test_relations_are_said_the_right_way_round(style, table):
    rng = np.random.default_rng(4)
    checked = 0
    while checked < 60:
        scene = sample_scene(rng, max_objects=2)
        if scene.relation is None or any(o.color_to for o in scene.objects):
            continue
        rel = scene.relation
        text = caption(scene, rng, style=style).lower()
        first = {
            i: min(m.start() for w in COLOR_WORDS[o.color] for m in re.finditer(rf"\b{w}\b", text))
            for i, o in enumerate(scene.objects)
        }
        said = min(((text.find(p), r) for r, ps in table.items() for p in ps if f" {p} " in text))[1]
        subject_first = first[rel.subject] < first[rel.object]
        inverse = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
        assert said == (rel.relation if subject_first else inverse[rel.relation]), text
        checked += 1
