"""Reading free-form prompts as world scenes, and saying them in the training wording."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zoetrope.world.caption import caption
from zoetrope.world.scene import sample_scene
from zoetrope.world.understand import canonical_prompt, in_training_wording, read_prompt


@pytest.mark.parametrize(
    ("prompt", "plain"),
    [
        ("a red ball rolling to the left", "a red circle moves left"),
        ("A blue square drifting slowly towards the right edge of the frame", "a blue square moves right slowly"),
        ("Green triangle falling down fast", "a green triangle moves down quickly"),
        ("an orange ring travelling from left to right across a white backdrop",
         "an orange ring moves right, on a white background"),
        ("a pink cross moving toward the upper right", "a pink cross moves up and to the right"),
        ("a cyan disk heading down and to the left, slowly", "a cyan circle moves down and to the left slowly"),
        ("a purple heart that spins really fast on a black background", "a purple heart spins quickly, on a black background"),
        ("a yellow ball goes round and round, while the camera pans left", "a yellow circle orbits as the camera pans left"),
        ("a blue circle that gradually vanishes", "a blue circle fades out"),
        ("a red square changing colour from red to blue", "a red square turns blue"),
        ("a big red heart growing larger under a night sky over grassy fields",
         "a large red heart grows, with a night sky and grassy ground in the distance"),
        ("a magenta heart whirling around on a gray to black gradient", "a pink heart spins, on a gray to black gradient"),
        ("the camera zooms in on a still orange star", "an orange star stays still as the camera zooms in"),
        ("two red balls bouncing", "a red circle bounces and a red circle bounces"),
        ("a red star moves right and a blue heart moves left", "a red star moves right and a blue heart moves left"),
        ("a red ball and a blue box; the ball rolls left, the box spins",
         "a red circle moves left and a blue square spins"),
        ("a red and a blue ball falling", "a red circle moves down and a blue circle moves down"),
        ("two balls, one red and one blue, rolling right", "a red circle moves right and a blue circle moves right"),
        ("a spinning red star and a bouncing blue ball", "a red star spins and a blue circle bounces"),
        ("a pink ring and a cyan heart side by side, both spinning", "a pink ring spins and a cyan heart spins"),
    ],
)
def test_a_world_scene_in_other_words_is_said_in_the_training_wording(prompt, plain):
    assert canonical_prompt(prompt) == plain


@pytest.mark.parametrize(
    ("prompt", "plain"),
    [
        ("a blue box sitting above a green triangle", "a blue square above a green triangle"),
        ("a red circle with a blue star to its right", "a blue star to the right of a red circle"),
        ("to the left of a purple heart is a yellow square", "a yellow square to the left of a purple heart"),
        ("a red circle on the left and a blue square on the right", "a red circle to the left of a blue square"),
        ("beneath a green ring, a red star spins", "a red star, which spins, below a green ring, which stays still"),
        ("a green ball passes behind a red box",
         "a green circle passes behind a red square and comes out the other side"),
        ("a small pink star glides left, slipping behind a large cyan square",
         "a small pink star moves left and passes behind a large cyan square and comes out the other side"),
        ("a blue star sliding to the right behind a yellow box",
         "a blue star moves right and passes behind a yellow square and comes out the other side"),
    ],
)
def test_where_two_objects_stand_is_read_from_either_side(prompt, plain):
    assert canonical_prompt(prompt) == plain


@pytest.mark.parametrize(
    "prompt",
    [
        "a cat sitting on a sofa",  # nothing of the world
        "a red ball",  # nothing said of what it does
        "a ball moving left",  # no colour
        "a white circle moves left",  # white is a backdrop here, never an object
        "",
    ],
)
def test_a_prompt_that_is_not_clearly_a_world_scene_is_left_as_typed(prompt):
    assert canonical_prompt(prompt) is None


def test_a_colour_said_after_the_shape_belongs_to_it_and_a_colour_change_is_not_its_colour():
    reading = read_prompt("a star colored violet turns golden quickly")
    (star,) = reading.objects
    assert (star.shape, star.color, star.motion, star.color_to) == ("star", "purple", "color change", "yellow")


@pytest.mark.parametrize("style", ["train", "varied"])
def test_a_caption_worded_as_the_training_captions_goes_to_the_model_as_typed(style):
    rng, words = np.random.default_rng(8), np.random.default_rng(9)
    for _ in range(100):
        text = caption(sample_scene(rng, split="heldout"), words, style=style)
        assert in_training_wording(text) and canonical_prompt(text) == text, text
    for _ in range(100):
        held_out = caption(sample_scene(rng, split="heldout"), words, style="paraphrase")
        assert not in_training_wording(held_out), held_out
    assert canonical_prompt("a cyan ball becomes orange and a green box expands") == (
        "a cyan ball becomes orange and a green box expands"
    )
    # Trained words in an order no caption has are read: the model learned the order too.
    assert canonical_prompt("to the left of a purple heart is a yellow square") == (
        "a yellow square to the left of a purple heart"
    )
    assert not in_training_wording("a red circle moves left on a beach")


@pytest.mark.parametrize("style", ["train", "varied"])
def test_every_training_caption_reads_back_as_its_scene(style):
    """Both training wordings, short and long, of 150 scenes: every object, motion, speed, relation,
    camera move and backdrop the caption says is read back."""
    rng, words = np.random.default_rng(5), np.random.default_rng(6)
    for _ in range(150):
        scene = sample_scene(rng, split="heldout")
        for form in ("short", "long"):
            text = caption(scene, words, style=style, form=form)
            reading = read_prompt(text)
            assert canonical_prompt(text) is not None, text
            got = {(o.color, o.shape) for o in reading.objects}
            assert got == {(o.color, o.shape) for o in scene.objects}, text
            by_noun = {(o.color, o.shape): o for o in reading.objects}
            for truth in scene.objects:
                read = by_noun[(truth.color, truth.shape)]
                if read.motion is not None or not scene.relation:
                    assert read.motion == truth.motion, text
                if read.speed is not None:
                    assert read.speed == truth.speed, text
            if scene.relation:
                subject, rel, obj = reading.relation
                a, b = reading.objects[subject], reading.objects[obj]
                truth_a, truth_b = scene.objects[scene.relation.subject], scene.objects[scene.relation.object]
                inverse = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
                assert ((a.color, rel, b.color) == (truth_a.color, scene.relation.relation, truth_b.color)
                        or (b.color, inverse[rel], a.color) == (truth_a.color, scene.relation.relation, truth_b.color)), text
            if scene.occlusion:
                assert reading.objects[reading.behind[0]].color == scene.objects[0].color, text
            if form == "long":
                assert reading.background[:2] == (scene.background.kind, scene.background.color), text
                if scene.camera.motion != "static":
                    assert reading.camera == scene.camera.motion, text


def test_the_pipeline_encodes_the_plain_wording_only_where_its_weights_ask(tmp_path):
    from zoetrope.backends.bundled import write_tiny_random_weights
    from zoetrope.diffusion.pipeline import VideoPipeline

    weights = write_tiny_random_weights(tmp_path / "w")
    literal = VideoPipeline.load(weights)
    meta = json.loads((weights / "config.json").read_text())
    (weights / "config.json").write_text(json.dumps({**meta, "plain_prompts": True}))
    plain = VideoPipeline.load(weights)
    typed, said = "a red ball rolling to the left", "a red circle moves left"
    encoded = plain.text.encode([said]).tokens
    assert plain._text([typed])[0].equal(encoded)
    assert not literal._text([typed])[0].equal(encoded)
    assert literal._text([typed])[0].equal(literal.text.encode([typed]).tokens)
    other = "a cat sitting on a sofa"
    assert plain._text([other])[0].equal(plain.text.encode([other]).tokens)
