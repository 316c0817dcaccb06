"""What a client asks of the submit service, and the checks of its fields that need nothing else:
the request itself (`VideoRequest`, and the hash an `Idempotency-Key` is checked against), text
that can be stored, a lane, an `Idempotency-Key`, a storyboard's cards."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field

from zoetrope.backends.base import StoryCard
from zoetrope.errors import InvalidRequest

DEFAULT_MODEL = "sora-2"  # an alias of the bundled model in the shipped config
LANES = ("fast", "relaxed")  # what a request's `lane` may ask for (its plan says which it has)
MAX_IDEMPOTENCY_KEY_CHARS = 255  # the stored key's column (VARCHAR(255) on PostgreSQL)


@dataclass(frozen=True)
class VideoRequest:
    """One generation as a client asks for it. `source_video_id` or `source_upload` name the video
    a remix, edit or extension starts from; `reference` is an image to animate."""

    prompt: str
    model: str | None = None  # None: the source video's model for a task on one, else DEFAULT_MODEL
    seconds: str | None = None
    size: str | None = None
    task: str = "t2v"
    reference: bytes | None = field(default=None, repr=False)
    source_video_id: str | None = None
    source_upload: bytes | None = field(default=None, repr=False)
    remix_of: str | None = None
    seed: int | None = None
    lane: str | None = None  # "fast" or "relaxed"; None: the plan's default lane
    strength: float | None = None
    strength_end: float | None = None  # remix: the last frame's strength (None: `strength` throughout)
    # Per-task inputs, stored in the job's params: `target` (clip B's video id, blend), `cards`
    # ([{"prompt", "start"}], storyboard), `trim` ([start, end] seconds, recut).
    options: dict | None = None
    # The request field that named `source_video_id` (`video`, or the path's `video_id`): what
    # an error about that video names. Not part of what the request asks for.
    source_param: str = "video"

    def fingerprint(self) -> str:
        """A hash of everything in the request: what an `Idempotency-Key` is checked against."""
        fields = asdict(self)
        del fields["source_param"]
        if fields["model"] is None and not fields["source_video_id"]:  # as keys stored before None meant this
            fields["model"] = DEFAULT_MODEL
        for name in ("strength_end", "lane"):  # keys stored before the field existed still match
            if fields[name] is None:
                del fields[name]
        for name in ("reference", "source_upload"):
            blob = fields.pop(name)
            fields[name] = hashlib.sha256(blob).hexdigest() if blob else None
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


MAX_PROMPT_CHARS = 4000  # as OpenAI's image prompts; moderation reads every word, so length is time


def check_length(text: str, param: str, limit: int = MAX_PROMPT_CHARS) -> None:
    if len(text) > limit:
        raise InvalidRequest(
            f"{param} is {len(text):,} characters; the limit is {limit:,}: shorten it", param=param
        )


def unicode_text(text: str, param: str) -> str:
    """`text` if it can be stored; a 400 naming `param` if it holds a lone surrogate (what JSON's
    `\\ud800` escapes and undecodable command-line bytes turn into) or a NUL (which PostgreSQL's
    text cannot hold)."""
    if "\x00" in text:
        raise InvalidRequest(f"{param} holds a NUL character (U+0000); remove it", param=param)
    try:
        text.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"{param} is not valid Unicode text: it holds a lone surrogate (U+D800-U+DFFF); "
            "send the character itself, or both halves of its surrogate pair",
            param=param,
        ) from None
    return text


# Numbers as JSON (and OpenAI) write them: ASCII digits, with an optional sign, point and exponent.
# float() and int() would also read other scripts' digits ("١٢", "４"), "1_0", padding, "inf", "nan".
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def is_decimal(text: str, *, integer: bool = False) -> bool:
    """Whether `text` is a number in ASCII decimal notation (with `integer`, digits alone)."""
    return (_INTEGER if integer else _DECIMAL).fullmatch(text) is not None


def check_idempotency_key(key: str | None) -> None:
    """A 400 for an `Idempotency-Key` that cannot be stored: empty, or longer than the column."""
    if key is None:
        return
    if not key.strip():
        raise InvalidRequest(
            f"Idempotency-Key is empty; send a key of 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters, "
            "or leave the header out",
            param="Idempotency-Key",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidRequest(
            f"Idempotency-Key is {len(key):,} characters; the limit is {MAX_IDEMPOTENCY_KEY_CHARS}: "
            "send a shorter key (a UUID is 36)",
            param="Idempotency-Key",
        )


def part_key(key: str, i: int) -> str:
    """Job `i`'s own Idempotency-Key in a request of several jobs (`n` images) under `key`: the
    client's with `:i`, or where that would be longer than a key can be, its digest with `:i`."""
    own = f"{key}:{i}"
    if len(own) <= MAX_IDEMPOTENCY_KEY_CHARS:
        return own
    return f"sha256:{hashlib.sha256(key.encode()).hexdigest()}:{i}"


def whole_fingerprint(reqs: list[VideoRequest]) -> str:
    """What the Idempotency-Key of a request of several jobs is checked against: every job's
    request, so their number too."""
    whole = {"n": len(reqs), "images": [req.fingerprint() for req in reqs]}
    return hashlib.sha256(json.dumps(whole, sort_keys=True).encode()).hexdigest()


def check_lane(lane: str | None) -> None:
    if lane is not None and lane not in LANES:
        raise InvalidRequest(
            f"lane must be {' or '.join(repr(v) for v in LANES)}, not {lane!r}", param="lane"
        )


CARD_FIELDS = ("prompt", "start")


MAX_BOARD_CHARS = 32_000  # a storyboard's card prompts together, as `/v1/moderations` reads at most


def story_cards(options: dict) -> tuple[StoryCard, ...]:
    """A storyboard's `cards` option as StoryCards; a 400 naming the card and field that is wrong."""
    raw = options.get("cards")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("cards must be a list of {prompt, start}", param="cards")
    cards = []
    for i, card in enumerate(raw):
        if not isinstance(card, dict):
            raise InvalidRequest(f"cards[{i}] must be an object with prompt and start", param=f"cards[{i}]")
        for key in card:  # a misspelt key would be dropped without a word
            if key not in CARD_FIELDS:
                raise InvalidRequest(
                    f"cards[{i}] has no field {key!r}; a card takes {' and '.join(CARD_FIELDS)}",
                    param=f"cards[{i}].{key}",
                )
        if "start" not in card:  # not 0 unsaid: a second card would be refused as overlapping the first
            raise InvalidRequest(
                f"cards[{i}] has no start; give the second it starts at, like 4 (the first card's is 0)",
                param=f"cards[{i}].start",
            )
        try:
            start = card["start"]
            if isinstance(start, bool) or (isinstance(start, str) and not is_decimal(start)):
                raise TypeError
            start = float(start)
            if not math.isfinite(start):  # 1e999 reads as infinity
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise InvalidRequest(
                f"cards[{i}].start must be a number of seconds in ASCII digits, like 4",
                param=f"cards[{i}].start",
            ) from None
        prompt = card.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise InvalidRequest(f"cards[{i}].prompt must be text", param=f"cards[{i}].prompt")
        cards.append(StoryCard(prompt=prompt or "", start=start))
    return tuple(cards)
