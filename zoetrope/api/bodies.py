"""The request bodies of the creates, for `/openapi.json`: each create route reads its body itself
(`forms.read_body`, JSON or multipart, so every refusal is OpenAI's 400 naming the field), and
these say what it reads. Every create also takes the `Zoetrope-Quote` header and may be refused
for the caller's plan, credits, quota or key (`CREATE_REFUSALS`).

A body valid here is one the server takes, short of what JSON Schema cannot say (a source video
that is yours and completed, an image that is one, storyboard cards in order): the model and size
enums are filled in from the server's models when the spec is built (`zoetrope.api.openapi`)."""

from __future__ import annotations

from zoetrope.backends.checks import MAX_SEED
from zoetrope.jobs.request import CARD_FIELDS, LANES, MAX_IDEMPOTENCY_KEY_CHARS, MAX_PROMPT_CHARS

_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"  # not blank, and no NUL (the database cannot store one)

LANE_FIELD = {
    "type": "string",
    "enum": list(LANES),
    "description": "the queue lane to run in, if the plan has it (403 lane_not_in_plan otherwise); "
    "left out: the plan's default lane",
}
PROMPT = {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS, "pattern": _TEXT}
MODEL = {
    "type": "string",
    "description": "a model of GET /v1/models; left out: the source video's, else sora-2",
}
SECONDS = {
    "type": "string",
    "pattern": r"^[1-9][0-9]?(\.[0-9]{1,3})?$",
    "description": "seconds, within the plan's max_seconds and the model's limit (down to one frame of "
    "the model is taken too: 0.125 at 8 fps)",
}
SIZE = {
    "type": "string",
    "description": "WIDTHxHEIGHT, even sides: any size of an aspect the model makes (within 3 %) is made at the "
    "nearest native size and resized; another aspect is a 400 naming the sizes. Left out: the source's, "
    "else 720x1280",
}
SEED = {"type": "integer", "minimum": 0, "maximum": MAX_SEED}
STRENGTH = {"type": "number", "minimum": 0, "maximum": 1, "description": "how far from the source (0.6)"}
STRENGTH_END = {"type": "number", "minimum": 0, "maximum": 1, "description": "the last frame's strength"}
_ID = {"type": "string", "minLength": 1, "pattern": r"^[^\u0000]+$", "description": "a video id"}
VIDEO_REF = {"anyOf": [_ID, {"type": "object", "properties": {"id": _ID}, "required": ["id"]}]}
MP4 = {"type": "string", "format": "binary", "description": "an MP4 video"}
IMAGE = {"type": "string", "format": "binary", "description": "a PNG, JPEG or WebP image"}
# A form names a video by id (`video=...`, or the `openai` client's `video[id]=...`) or uploads it.
VIDEO_FORM = {"anyOf": [MP4, _ID], "description": "a completed video of yours by id, or an MP4 upload"}
_GENERATION = {"model": MODEL, "size": SIZE, "seed": SEED, "lane": LANE_FIELD}

QUOTE_PARAMETER = {
    "name": "Zoetrope-Quote",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "enum": ["true", "false"]},
    "description": "true: answer with what the create would cost (a video.quote object), refused as the "
    "create would be; nothing is queued, charged or moderated",
}
IDEMPOTENCY_KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
    "pattern": r"\S",
    "description": "the same key and body return the same video; another body is a 409",
}


def refusal(description: str) -> dict:
    """A response of OpenAI's error object."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


CREATE_REFUSALS = {
    "402": refusal("Not enough credits (insufficient_credits) or points (insufficient_points) for it"),
    "403": refusal("The plan or the key does not allow it: a lane, a task, a size, a length, a model"),
    "409": refusal("The Idempotency-Key was used with another body, or its video was deleted"),
    "429": refusal(
        "Over the plan's or the key's quota, or its concurrent jobs; Retry-After says when to retry"
    ),
}


def create_body(
    fields: dict,
    required: list[str],
    *,
    form: dict | None = None,
    json_only: bool = False,
    source: bool = False,
) -> dict:
    """`openapi_extra` of a create: its body as JSON and (unless `json_only`) as multipart, where
    `form` replaces or adds fields (uploads); the quote header; the refusals every create has, and
    (with `source`, a body naming a video) the 404 of a video that is not the caller's."""
    content = {"application/json": {"schema": {"type": "object", "properties": fields, "required": required}}}
    if not json_only:
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": {**fields, **(form or {})}, "required": required}
        }
    return {
        "requestBody": {"required": True, "content": content},
        "parameters": [QUOTE_PARAMETER],
        "responses": {
            **CREATE_REFUSALS,
            **({"404": refusal("A source video that is not one of yours")} if source else {}),
        },
    }


CREATE_VIDEO = create_body(
    {"prompt": PROMPT, "seconds": SECONDS, **_GENERATION},
    ["prompt"],
    form={
        "input_reference": {**IMAGE, "description": "an image to animate (image to video): the first frame"}
    },
)
EXTEND_VIDEO = create_body(
    {
        "prompt": PROMPT,
        "video": VIDEO_REF,
        "direction": {"type": "string", "enum": ["forward", "backward"], "default": "forward"},
        "seconds": {
            **SECONDS,
            "description": "new footage to add, in whole steps of 4 frames (0.5 s at 8 fps)",
        },
        **_GENERATION,
    },
    ["prompt", "video"],
    form={"video": VIDEO_FORM},
    source=True,
)
_REDRAW = {"strength": STRENGTH, "strength_end": STRENGTH_END}  # a remix lasts as long as its source
EDIT_VIDEO = create_body(
    {"prompt": PROMPT, "video": VIDEO_REF, **_REDRAW, **_GENERATION},
    ["prompt", "video"],
    form={"video": VIDEO_FORM},
    source=True,
)
REMIX_VIDEO = create_body({"prompt": PROMPT, **_REDRAW, **_GENERATION}, ["prompt"])
_JOIN = {**SECONDS, "description": "the transition's seconds, in whole steps of 4 frames"}
LOOP_VIDEO = create_body({"prompt": PROMPT, "seconds": _JOIN, **_GENERATION}, ["prompt"])
BLEND_VIDEOS = create_body(
    {"prompt": PROMPT, "video_a": VIDEO_REF, "video_b": VIDEO_REF, "seconds": _JOIN, **_GENERATION},
    ["prompt", "video_a", "video_b"],
    form={"video_a": _ID, "video_b": _ID},
    source=True,
)
_CARD = {
    "type": "object",
    "properties": {"prompt": PROMPT, "start": {"type": "number", "minimum": 0}},
    "required": list(CARD_FIELDS),
    "additionalProperties": False,  # submit refuses any other field by name
}
STORYBOARD = create_body(  # cards are a list of objects, which a form cannot carry
    {
        "cards": {"type": "array", "items": _CARD, "minItems": 1},
        "seconds": {**SECONDS, "description": "the video's length: after the last card's start"},
        "prompt": {**PROMPT, "description": "the whole; left out: the cards' prompts"},
        **_GENERATION,
    },
    ["cards", "seconds"],
    json_only=True,
)
RECUT_VIDEO = create_body(
    {
        "prompt": PROMPT,
        "start": {"type": "number", "minimum": 0},
        "end": {"type": "number", "minimum": 0, "description": "after start, at most the video's length"},
        "extend": {"type": "number", "minimum": 0, "default": 0},
        **_GENERATION,
    },
    ["prompt", "start", "end"],
)
