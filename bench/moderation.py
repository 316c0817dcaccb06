"""Prompt moderation on the labelled set: recall, precision and false positives per category.

Usage: python bench/moderation.py [--data tests/data/moderation_eval.jsonl] [--out bench/results/moderation.json]

Recall counts a harmful prompt as caught when it is blocked at all; `named` is the share blocked
under its own category. Precision of a category is the share of prompts blocked under it that
carry its label. Benign false positives are benign prompts (plain and near-miss) that were blocked.

Then the everyday prompts of bench/api.py (23,040 combinations of subject, action, setting and
style, none of them harmful; `--everyday 0` skips them): how many of those moderation blocks,
and which. A labelled set of a few hundred prompts cannot show a false positive rate of one in
a thousand; this mix can.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zoetrope.safety import check_prompt

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "tests/data/moderation_eval.jsonl")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/moderation.json")
    ap.add_argument("--show-errors", action="store_true", help="print every misclassified prompt")
    ap.add_argument("--everyday", type=int, default=23040, help="how many of bench/api.py's prompts to check")
    args = ap.parse_args()

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    check_prompt("warm up")
    load = os.getloadavg()[0]  # the timing depends on it: other work on the cores slows torch
    start = time.perf_counter()
    results = [check_prompt(r["text"]) for r in rows]
    ms_per_prompt = 1000 * (time.perf_counter() - start) / len(rows)

    by_label: dict[str, list[tuple[dict, object]]] = defaultdict(list)
    for row, res in zip(rows, results, strict=True):
        by_label[row["label"]].append((row, res))
    blocked_as: dict[str, int] = defaultdict(int)
    for res in results:
        if res.flagged:
            blocked_as[res.category] += 1

    categories = sorted(k for k in by_label if k != "benign")
    report: dict = {"categories": {}, "date": str(date.today()), "machine": platform.platform()}
    table = Table(title=f"Prompt moderation on {len(rows)} labelled prompts ({args.data.name})")
    for col in ("category", "n", "recall", "named", "precision", "missed (obfuscated)"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for cat in categories:
        items = by_label[cat]
        caught = sum(res.flagged for _, res in items)
        named = sum(res.category == cat for _, res in items)
        obf_missed = sum(not res.flagged for row, res in items if row["kind"] == "obfuscated")
        precision = named / blocked_as[cat] if blocked_as[cat] else 1.0
        report["categories"][cat] = {
            "n": len(items), "recall": caught / len(items), "named": named / len(items), "precision": precision,
            "missed_obfuscated": obf_missed,
        }  # fmt: skip
        table.add_row(cat, str(len(items)), f"{caught / len(items):.1%}", f"{named / len(items):.1%}",
                      f"{precision:.1%}", str(obf_missed))  # fmt: skip

    harmful = [res for cat in categories for _, res in by_label[cat]]
    benign = by_label["benign"]
    near = [res for row, res in benign if row["kind"] == "near-miss"]
    report["overall"] = {
        "recall": sum(r.flagged for r in harmful) / len(harmful),
        "benign_false_positive_rate": sum(r.flagged for _, r in benign) / len(benign),
        "near_miss_false_positive_rate": sum(r.flagged for r in near) / len(near),
        "n_harmful": len(harmful), "n_benign": len(benign), "n_near_miss": len(near),
        "ms_per_prompt": ms_per_prompt, "load_average": load,
    }  # fmt: skip
    o = report["overall"]
    table.add_row("all harmful", str(len(harmful)), f"{o['recall']:.1%}", "", "", "")
    console = Console()
    console.print(table)
    console.print(
        f"benign false positives: {o['benign_false_positive_rate']:.1%} of {len(benign)} "
        f"(near-misses {o['near_miss_false_positive_rate']:.1%} of {len(near)}); "
        f"{ms_per_prompt:.1f} ms per prompt at load average {load:.1f}"
    )
    report["errors"] = [
        {"text": row["text"], "label": row["label"], "got": res.category, "why": res.reasons}
        for row, res in zip(rows, results, strict=True)
        if (row["label"] == "benign") == res.flagged
    ]
    if args.show_errors:
        for e in report["errors"]:
            console.print(f"[red]{e['label']:>16}[/] got {e['got']}: {e['text']}  {e['why']}")
    if args.everyday:
        report["everyday"] = everyday(args.everyday)
        e = report["everyday"]
        console.print(
            f"everyday prompts (bench/api.py) blocked: {e['blocked']} of {e['n']} "
            f"({e['false_positive_rate']:.3%}) in {e['seconds']:.0f} s"
        )
        for item in e["examples"]:
            console.print(f"  [red]{item['got']}[/]: {item['text']}  {item['why']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


def everyday(n: int) -> dict:
    """Moderate the first `n` of bench/api.py's benign prompt mix, embedded in batches as the
    server does; every block is a false positive."""
    import sys

    sys.path.insert(0, str(ROOT))
    from bench.api import prompts
    from zoetrope.safety.moderation import get_moderator

    texts = prompts()[:n]
    moderator = get_moderator()
    start = time.perf_counter()
    blocked = []
    for i in range(0, len(texts), 64):
        chunk = texts[i : i + 64]
        moderator.prefetch(chunk)
        blocked += [(t, r) for t in chunk if (r := check_prompt(t)).flagged]
    return {
        "n": len(texts),
        "blocked": len(blocked),
        "false_positive_rate": len(blocked) / len(texts),
        "seconds": time.perf_counter() - start,
        "examples": [{"text": t, "got": r.category, "why": r.reasons} for t, r in blocked[:20]],
    }


if __name__ == "__main__":
    main()
