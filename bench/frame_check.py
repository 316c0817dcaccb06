"""Output frame check on our own kind of video, and what the people detector sees in pictures.

Usage: python bench/frame_check.py [--clips 120] [--bundled 8] [--images PATH ...]
                                   [--out bench/results/frame_check.json]

1. Clips of the procedural world (zoetrope/world: the world the bundled model learns to draw)
   rendered at 64x64 and 128x128, 16 frames, half of each size, and `--bundled` videos the
   bundled model makes from world captions. Every one is harmless, so any block is a false
   positive. Both checks run on the 8 frames the filter samples: open_nsfw (all backends) and the
   people check (backends that can depict people; the bundled model is not one, so this is what
   the check would do if it were), judged with a neutral prompt and, strictest, as if the prompt
   were about minors. The detector also runs on every frame, to show what sampling may miss.
2. Pictures: the photographs that ship inside installed packages (scikit-learn's sample images,
   when it is installed), figures drawn with PIL, and any `--images` given. The table lists what
   NudeNet finds in each. None of the local pictures shows a real person, so this part shows
   that the detector stays quiet on them, not how well it finds people or nudity.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from zoetrope.safety.frames import NSFW_THRESHOLD, check_frames, default_classifier
from zoetrope.safety.people import Detection, PeopleVerdict, default_detector, default_frame_policy, judge
from zoetrope.world import caption, render, sample_scene

ROOT = Path(__file__).resolve().parent.parent
SKIN, SHIRT, TROUSERS = (224, 172, 138), (40, 90, 200), (50, 50, 60)


def _strictest(people: PeopleVerdict) -> PeopleVerdict:
    """The verdict on the same findings had the prompt been about minors (the lowest bar)."""
    found = [[Detection(label, score) for label, score in people.seen.items()]]
    return judge(found, {}, "child", default_frame_policy())


def _figure(size: int, clothed: bool) -> np.ndarray:
    """A standing figure on a sky and lawn, drawn with PIL: clothed, or bare and skin-coloured."""
    img = Image.new("RGB", (size, size), (150, 200, 240))
    d = ImageDraw.Draw(img)
    d.rectangle([0, size * 0.7, size, size], fill=(90, 160, 70))
    s, cx = size / 256, size / 2
    body, legs = (SHIRT, TROUSERS) if clothed else (SKIN, SKIN)
    d.ellipse([cx - 22 * s, 30 * s, cx + 22 * s, 80 * s], fill=SKIN)  # head
    d.ellipse([cx - 10 * s, 48 * s, cx - 5 * s, 53 * s], fill=(30, 30, 30))  # eyes
    d.ellipse([cx + 5 * s, 48 * s, cx + 10 * s, 53 * s], fill=(30, 30, 30))
    d.arc([cx - 9 * s, 58 * s, cx + 9 * s, 70 * s], 20, 160, fill=(150, 60, 60), width=max(1, int(2 * s)))
    d.rectangle([cx - 30 * s, 82 * s, cx + 30 * s, 160 * s], fill=body)  # torso
    d.rectangle([cx - 48 * s, 85 * s, cx - 32 * s, 150 * s], fill=SKIN)  # arms
    d.rectangle([cx + 32 * s, 85 * s, cx + 48 * s, 150 * s], fill=SKIN)
    d.rectangle([cx - 28 * s, 160 * s, cx - 4 * s, 240 * s], fill=legs)  # legs
    d.rectangle([cx + 4 * s, 160 * s, cx + 28 * s, 240 * s], fill=legs)
    if not clothed:
        for x in (cx - 15 * s, cx + 15 * s):
            d.ellipse([x - 4 * s, 108 * s, x + 4 * s, 116 * s], fill=(170, 100, 90))
    return np.asarray(img)


def _pictures(extra: list[Path]) -> dict[str, np.ndarray]:
    pictures: dict[str, np.ndarray] = {}
    try:
        folder = resources.files("sklearn.datasets").joinpath("images")
        for name in ("china.jpg", "flower.jpg"):
            pictures[f"photo: sklearn {name}"] = np.asarray(
                Image.open(str(folder.joinpath(name))).convert("RGB")
            )
    except ModuleNotFoundError:
        pass
    for size in (256, 128, 64):
        pictures[f"drawn figure, clothed, {size}px"] = _figure(size, clothed=True)
        pictures[f"drawn figure, bare, {size}px"] = _figure(size, clothed=False)
    for path in extra:
        pictures[f"file: {path.name}"] = np.asarray(Image.open(path).convert("RGB"))
    return pictures


def _clip_rows(args, classifier, detector) -> dict[str, list[dict]]:
    """Both checks on world clips and bundled-model videos: one dict of findings per video."""
    rng = np.random.default_rng(7)
    rows: dict[str, list[dict]] = {"world 64x64": [], "world 128x128": [], "bundled 64x64": []}
    for i in range(args.clips):
        size = 64 if i % 2 else 128
        frames = render(sample_scene(rng), frames=16, height=size, width=size)
        rows[f"world {size}x{size}"].append(_findings(frames, classifier, detector))
    if args.bundled:
        from zoetrope.backends.base import GenerationRequest
        from zoetrope.backends.bundled import BundledBackend

        backend = BundledBackend()
        for i in range(args.bundled):
            prompt = caption(sample_scene(rng), rng)
            request = GenerationRequest(prompt=prompt, width=64, height=64, seconds=2.0, seed=i)
            frames = np.concatenate(list(backend.generate(request)), axis=0)  # (T, 64, 64, 3)
            rows["bundled 64x64"].append(_findings(frames, classifier, detector))
    return {k: v for k, v in rows.items() if v}


def _findings(frames: np.ndarray, classifier, detector) -> dict:
    """Both checks on the frames the filter samples; the detector also on every frame, to show
    what sampling may miss."""
    verdict = check_frames(frames, classifier=classifier)
    every = detector.detect(list(frames))
    policy = default_frame_policy()
    people = judge([every[i] for i in verdict.frames_checked], {}, None, policy)  # no prompt: neutral
    return {
        "nsfw": verdict.scores["sexual"], "nsfw_blocked": verdict.scores["sexual"] >= NSFW_THRESHOLD,
        "detections": len(people.seen), "person": people.person, "exposure": people.exposure,
        "exposure_every_frame": judge(every, {}, None, policy).exposure,
        "people_blocked": people.category is not None,
        "blocked_if_about_minors": _strictest(people).category is not None,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--bundled", type=int, default=8, help="videos from the bundled model (about 5 s each)")
    ap.add_argument("--images", type=Path, nargs="*", default=[], help="more pictures to run the detector on")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/frame_check.json")
    args = ap.parse_args()

    classifier, detector, policy = default_classifier(), default_detector(), default_frame_policy()
    start = time.perf_counter()
    rows = _clip_rows(args, classifier, detector)
    seconds = (time.perf_counter() - start) / max(1, args.clips + args.bundled)
    report: dict = {"date": str(date.today()), "machine": platform.platform(), "threshold": NSFW_THRESHOLD,
                    "people_policy": policy.model_dump(exclude={"minor_terms"}),
                    "seconds_per_clip": seconds, "videos": {}, "pictures": {}}  # fmt: skip
    console = Console(width=160)
    table = Table(title="Frame check on harmless videos: every block is a false positive")
    for col in ("videos", "n", f"open_nsfw ≥{NSFW_THRESHOLD}", "open_nsfw max", "with detections",
                "face max", "exposure max", "every frame", "people check", "if about minors"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, found in rows.items():
        share = {k: float(np.mean([f[k] for f in found])) for k in ("nsfw_blocked", "people_blocked",
                                                                   "blocked_if_about_minors")}  # fmt: skip
        row = {"n": len(found), **share, "nsfw_max": max(f["nsfw"] for f in found),
               "with_detections": float(np.mean([f["detections"] > 0 for f in found])),
               "face_max": max(f["person"] for f in found), "exposure_max": max(f["exposure"] for f in found),
               "exposure_max_every_frame": max(f["exposure_every_frame"] for f in found)}  # fmt: skip
        report["videos"][name] = row
        table.add_row(name, str(row["n"]), f"{row['nsfw_blocked']:.1%}", f"{row['nsfw_max']:.3f}",
                      f"{row['with_detections']:.1%}", f"{row['face_max']:.2f}", f"{row['exposure_max']:.2f}",
                      f"{row['exposure_max_every_frame']:.2f}",
                      f"{row['people_blocked']:.1%}", f"{row['blocked_if_about_minors']:.1%}")  # fmt: skip
    everything = [f for found in rows.values() for f in found]
    report["false_positive_rate"] = float(
        np.mean([f["nsfw_blocked"] or f["people_blocked"] for f in everything])
    )
    report["false_positive_rate_if_about_minors"] = float(
        np.mean([f["blocked_if_about_minors"] for f in everything])
    )
    console.print(table)
    console.print(f"false positives overall: {report['false_positive_rate']:.1%} "
                  f"({report['false_positive_rate_if_about_minors']:.1%} had every prompt been about minors); "
                  f"{seconds:.2f} s per video for both checks")  # fmt: skip

    pictures = Table(title="What NudeNet finds in local pictures (no real person among them)")
    for col in ("picture", "size", "open_nsfw", "NudeNet detections (label score)", "people check"):
        pictures.add_column(col)
    for name, image in _pictures(args.images).items():
        found = detector.detect([image])[0]
        verdict = judge([found], {}, None, policy)
        nsfw = classifier.scores([image])[0]["sexual"]
        seen = (
            ", ".join(f"{d.label} {d.score:.2f}" for d in sorted(found, key=lambda d: -d.score)) or "nothing"
        )
        report["pictures"][name] = {"size": list(image.shape[:2]), "open_nsfw": nsfw, "seen": verdict.seen,
                                    "blocked": verdict.category}  # fmt: skip
        pictures.add_row(
            name, f"{image.shape[1]}x{image.shape[0]}", f"{nsfw:.3f}", seen, verdict.category or "pass"
        )
    console.print(pictures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
