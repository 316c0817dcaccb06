"""Following blobs through a clip, and pairing the followed objects with the ones the scene asked for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

from zoetrope.eval.segment import Blob
from zoetrope.eval.silhouette import classify
from zoetrope.world.vocab import COLORS

SHAPE_VOTES = 5  # silhouettes classified per object: its largest whole ones


@dataclass
class ObjectTrack:
    """One object seen in several frames (those where every object stood apart)."""

    blobs: list[Blob] = field(default_factory=list)
    # Blobs from the other frames that continue this track: for following motion only, as
    # they may be partly hidden.
    extra: list[Blob] = field(default_factory=list)

    def arrays(self, extended: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(frame index, x, y, area), each (n,), in time order; `extended` adds the extra blobs."""
        b = sorted(self.blobs + self.extra, key=lambda x: x.t) if extended else self.blobs
        return (
            np.array([x.t for x in b]),
            np.array([x.x for x in b]),
            np.array([x.y for x in b]),
            np.array([x.area for x in b], float),
        )

    def colors(self) -> np.ndarray:
        """(n, 3) median color per frame."""
        return np.array([b.rgb for b in self.blobs])

    def shape(self) -> str:
        """The shape most of its largest whole silhouettes look like."""
        whole = [b for b in self.blobs if not b.edge] or self.blobs
        best = sorted(whole, key=lambda b: -b.area)[:SHAPE_VOTES]
        return Counter(classify(b.xs, b.ys) for b in best).most_common(1)[0][0]


def hue(rgb: np.ndarray) -> tuple[float, float]:
    """(hue in degrees, saturation 0..1) of one color."""
    r, g, b = (np.asarray(rgb, float) / 255.0).tolist()
    hi, lo = max(r, g, b), min(r, g, b)
    if hi - lo < 1e-6:
        return 0.0, 0.0
    d = hi - lo
    h = ((g - b) / d) % 6 if hi == r else (b - r) / d + 2 if hi == g else (r - g) / d + 4
    return 60.0 * h, d / hi


_HUES = {name: hue(np.array(rgb))[0] for name, rgb in COLORS.items()}


def color_name(rgb: np.ndarray) -> str | None:
    """The world color whose hue is nearest, or None for a color too grey to name."""
    h, s = hue(rgb)
    if s < 0.25 or max(rgb) < 50:
        return None
    return min(_HUES, key=lambda n: min(abs(h - _HUES[n]), 360 - abs(h - _HUES[n])))


def count_objects(per_frame: list[list[Blob]]) -> int:
    """The number of objects the clip shows: the most blobs that at least two frames (and 15 %
    of them) show. Objects hidden for a while still count; a blob in one frame is noise."""
    need = max(2, int(np.ceil(0.15 * len(per_frame)))) if len(per_frame) > 1 else 1
    counts = sorted((len(f) for f in per_frame), reverse=True)
    return counts[need - 1] if len(counts) >= need else 0


def link(per_frame: list[list[Blob]], k: int, width: int, height: int) -> list[ObjectTrack]:
    """k tracks through the frames that show exactly k blobs, each frame's blobs joined greedily
    to the tracks whose last position and color are nearest."""
    tracks = [ObjectTrack() for _ in range(k)]
    scale = float(np.hypot(width, height))
    for blobs in per_frame:
        if len(blobs) != k or k == 0:
            continue
        if not tracks[0].blobs:
            for tr, b in zip(tracks, sorted(blobs, key=lambda b: b.x), strict=True):
                tr.blobs.append(b)
            continue
        cost = np.array(
            [
                [
                    np.hypot(b.x - tr.blobs[-1].x, b.y - tr.blobs[-1].y) / scale
                    + np.abs(b.rgb - tr.blobs[-1].rgb).max() / 255.0
                    for b in blobs
                ]
                for tr in tracks
            ]
        )
        taken_t, taken_b = set(), set()
        for flat in np.argsort(cost, axis=None):
            i, j = divmod(int(flat), k)
            if i not in taken_t and j not in taken_b:
                tracks[i].blobs.append(blobs[j])
                taken_t.add(i)
                taken_b.add(j)
    found = [t for t in tracks if t.blobs]
    _extend(found, per_frame, k, scale)
    return found


def _extend(tracks: list[ObjectTrack], per_frame: list[list[Blob]], k: int, scale: float) -> None:
    """Add blobs from frames that showed another count (an object hidden, faded or touching
    another) to the track they clearly continue: near in place and color, and of a like size
    (two objects merged into one blob are neither)."""
    if not tracks:
        return
    for blobs in per_frame:
        if not blobs or len(blobs) == k:
            continue
        t = blobs[0].t
        refs = [min(tr.blobs, key=lambda b: abs(b.t - t)) for tr in tracks]
        taken: set[int] = set()
        for i, ref in enumerate(refs):
            options = [
                (np.hypot(b.x - ref.x, b.y - ref.y) / scale + np.abs(b.rgb - ref.rgb).max() / 255.0, j)
                for j, b in enumerate(blobs)
                if j not in taken and 0.65 <= b.area / ref.area <= 1.5
            ]
            if options:
                cost, j = min(options)
                if cost < 0.25:
                    tracks[i].extra.append(blobs[j])
                    taken.add(j)


def pair(tracks: list[ObjectTrack], agreement: np.ndarray) -> dict[int, int]:
    """Asked object index -> track index, maximising the total agreement (objects x tracks)."""
    n_obj, n_tr = agreement.shape
    if max(n_obj, n_tr) > 5:  # too many to try every pairing: greedy
        out: dict[int, int] = {}
        for flat in np.argsort(-agreement, axis=None):
            i, j = divmod(int(flat), n_tr)
            if i not in out and j not in out.values():
                out[i] = j
        return out
    if n_obj <= n_tr:
        options = [dict(enumerate(p)) for p in permutations(range(n_tr), n_obj)]
    else:
        options = [{o: j for j, o in enumerate(p)} for p in permutations(range(n_obj), n_tr)]
    return max(options, key=lambda m: sum(agreement[o, t] for o, t in m.items()), default={})
