"""Storyboard files (TOML or JSON): `seconds`, `size` and a list of cards (prompt, start, image).

    seconds = 8            # optional: the last card's start + 4 s
    size = "64x64"         # optional
    [[cards]]
    prompt = "a red ball rolls right"
    start = 0
    [[cards]]
    prompt = "a blue square falls"
    start = 4
    image = "square.png"   # optional: a PNG/JPEG/WebP still, relative to this file; the segment starts on it
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from zoetrope.backends.base import StoryCard
from zoetrope.errors import InvalidRequest
from zoetrope.jobs.sizes import parse_size

DEFAULT_LAST_SECONDS = 4.0
BOARD_KEYS = ("seconds", "size", "cards")
CARD_KEYS = ("prompt", "start", "image")


def _known(table: dict, keys: tuple[str, ...], where: str, path: Path) -> None:
    """Refuse a key the storyboard does not read: a misspelt `imgae` would otherwise be dropped unseen."""
    for key in table:
        if key not in keys:
            raise InvalidRequest(f"{path}: unknown key {where}{key}; {where or 'a storyboard '}takes "
                                 f"{', '.join(keys)}", param=f"{where}{key}")


@dataclass(frozen=True)
class Storyboard:
    cards: tuple[StoryCard, ...]
    seconds: float
    size: tuple[int, int]  # (width, height)
    images: tuple[Path, ...] = ()  # the stills the cards name: inputs a command must not write over


def read_storyboard(path: Path) -> Storyboard:
    """The storyboard in a file; InvalidRequest naming the field for anything malformed."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is not text
    except OSError as e:
        raise InvalidRequest(f"cannot read storyboard {path}: {e.strerror}", param="file") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path} is not UTF-8 text; save the storyboard as UTF-8 TOML or JSON",
                             param="file") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise InvalidRequest(f"{path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {e}",
                             param="file") from None
    raw = data.get("cards") if isinstance(data, dict) else None
    if isinstance(data, dict):
        _known(data, BOARD_KEYS, "", path)
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(f"{path} needs a list of cards, each with prompt and start", param="cards")
    read = [_card(path, i, c) for i, c in enumerate(raw)]
    cards = tuple(card for card, _ in read)
    images = tuple(image for _, image in read if image is not None)
    seconds = data.get("seconds", max(c.start for c in cards) + DEFAULT_LAST_SECONDS)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        raise InvalidRequest(f"seconds must be a number, got {seconds!r}", param="seconds")
    return Storyboard(cards, float(seconds), _size(str(data.get("size", "64x64"))), images)


def _card(path: Path, i: int, raw: object) -> tuple[StoryCard, Path | None]:
    """The card, and the path of the still it names (None for none)."""
    where = f"cards[{i}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be a table with prompt and start", param=where)
    _known(raw, CARD_KEYS, f"{where}.", path)
    prompt, start = raw.get("prompt"), raw.get("start")
    if not isinstance(prompt, str):
        raise InvalidRequest(f"{where}.prompt must be text", param=f"{where}.prompt")
    if not isinstance(start, int | float) or isinstance(start, bool) or not math.isfinite(start):
        raise InvalidRequest(f"{where}.start must be a number of seconds, got {start!r}", param=f"{where}.start")
    image, file = None, None
    if "image" in raw and not isinstance(raw["image"], str):  # `image = 5` is not a file named 5
        raise InvalidRequest(f"{where}.image must be the still's file name as text, like \"start.png\", "
                             f"got {raw['image']!r}", param=f"{where}.image")
    if raw.get("image"):
        from zoetrope.cli.media_io import check_input
        from zoetrope.media import read_frames
        from zoetrope.media.sources import load

        file = path.parent / str(raw["image"])
        check_input(file, f"{where}.image", "a still image (PNG, JPEG or WebP)")
        # A still only, known by its first bytes before anything is decoded: a video's first frame
        # taken without a word would hide that the card names the wrong file.
        if load(file, param=f"{where}.image").format == "mp4":
            raise InvalidRequest(
                f"{where}.image {raw['image']} is a video; a card starts on a still image: give a PNG, JPEG "
                f"or WebP, or extract a frame first (ffmpeg -i {raw['image']} -frames:v 1 frame.png)",
                param=f"{where}.image")
        image = read_frames(file, param=f"{where}.image").frames[0]
    return StoryCard(prompt=prompt, start=float(start), image=image), file


def _size(size: str) -> tuple[int, int]:
    return parse_size(size)  # the API's rule: each side 16..4096
