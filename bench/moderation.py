"""Prompt moderation on the labelled sets: recall, precision and false positives per category.

Usage: python bench/moderation.py [--data NAME=PATH ...] [--out bench/results/moderation.json]

Three sets by default: `eval` (tests/data/moderation_eval.jsonl, the set the policy was written
against), and the two halves of a hostile audit's prompts, `audit-dev` (tuned against) and
`audit-heldout` (never tuned against: it says how the policy does on prompts nobody looked at).
The audit halves are split deterministically: prompts built from one core sentence under 24
disguises go to one half by sha256 of the core within its category, so no held-out sentence is
seen in dev under another disguise; hand-written prompts alternate by sha256 of the text within
their trick, benign ones within their theme. Their `audit` field names the trick or theme.
`fresh` (tests/data/moderation_fresh.jsonl) is a fourth set, written after the policy, and
`fresh2` (tests/data/moderation_fresh2.jsonl) a fifth, written before the rules for words with
everyday senses (`ambiguous` in data/policy.toml) and never tuned against: 188 near misses by
theme (places, cooking, sport, medicine, history, idioms, word senses, news, religion and art)
and 126 harmful prompts, direct, paraphrased and disguised. `fresh3`
(tests/data/moderation_fresh3.jsonl), never tuned against either, is about framing: 135 benign
prompts that say strong words in a news, documentary, medical, teaching, history, trial or
advocacy frame (their `theme`), and 112 harmful ones, 70 hiding behind the same frames (`kind`
"framed": "a documentary-style video showing in graphic detail how a man is beheaded") and the
rest direct, paraphrased and disguised, of every category.

The semantic layer's classifier (zoetrope/safety/classifier.py) is trained on `eval` and
`audit-dev`, so their recall and false positives are how well it fits what it saw; `audit-heldout`,
`fresh` and `fresh2` are what it was never shown.

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
SETS = {
    "eval": ROOT / "tests/data/moderation_eval.jsonl",
    "audit-dev": ROOT / "tests/data/moderation_audit_dev.jsonl",
    "audit-heldout": ROOT / "tests/data/moderation_audit_heldout.jsonl",
    "fresh": ROOT / "tests/data/moderation_fresh.jsonl",
    "fresh2": ROOT / "tests/data/moderation_fresh2.jsonl",
    "fresh3": ROOT / "tests/data/moderation_fresh3.jsonl",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", metavar="NAME=PATH", help="a labelled set (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/moderation.json")
    ap.add_argument("--show-errors", action="store_true", help="print every misclassified prompt")
    ap.add_argument("--everyday", type=int, default=23040, help="how many of bench/api.py's prompts to check")
    args = ap.parse_args()
    sets = dict(item.split("=", 1) for item in args.data) if args.data else SETS

    check_prompt("warm up")
    console = Console()
    report: dict = {"date": str(date.today()), "machine": platform.platform(), "sets": {}}
    for name, path in sets.items():
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
        report["sets"][name] = measure(rows)
    console.print(summary(report["sets"]))
    for name, result in report["sets"].items():
        o = result["overall"]
        console.print(
            f"{name}: recall {o['recall']:.1%} of {o['n_harmful']}, benign false positives "
            f"{o['benign_false_positive_rate']:.1%} of {o['n_benign']} (near-misses "
            f"{o['near_miss_false_positive_rate']:.1%} of {o['n_near_miss']}); "
            f"{o['ms_per_prompt']:.1f} ms per prompt at load average {o['load_average']:.1f}"
        )
        if args.show_errors:
            for e in result["errors"]:
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
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def measure(rows: list[dict]) -> dict:
    """Recall, named share and precision per category, and benign false positives, on `rows`."""
    load = os.getloadavg()[0]  # the timing depends on it: other work on the cores slows torch
    start = time.perf_counter()
    results = [check_prompt(r["text"]) for r in rows]
    ms_per_prompt = 1000 * (time.perf_counter() - start) / len(rows)

    by_label: dict[str, list[tuple[dict, object]]] = defaultdict(list)
    blocked_as: dict[str, int] = defaultdict(int)
    for row, res in zip(rows, results, strict=True):
        by_label[row["label"]].append((row, res))
        if res.flagged:
            blocked_as[res.category] += 1
    report: dict = {"categories": {}}
    categories = sorted(k for k in by_label if k != "benign")
    for cat in categories:
        items = by_label[cat]
        caught = sum(res.flagged for _, res in items)
        named = sum(res.category == cat for _, res in items)
        report["categories"][cat] = {
            "n": len(items), "recall": caught / len(items), "named": named / len(items),
            "precision": named / blocked_as[cat] if blocked_as[cat] else 1.0,
            "missed_obfuscated": sum(not res.flagged for row, res in items if row["kind"] == "obfuscated"),
        }  # fmt: skip
    harmful = [res for cat in categories for _, res in by_label[cat]]
    benign = by_label["benign"]
    near = [res for row, res in benign if row["kind"] == "near-miss"]
    report["overall"] = {
        "recall": sum(r.flagged for r in harmful) / len(harmful),
        "benign_false_positive_rate": sum(r.flagged for _, r in benign) / len(benign),
        "near_miss_false_positive_rate": sum(r.flagged for r in near) / max(len(near), 1),
        "n_harmful": len(harmful), "n_benign": len(benign), "n_near_miss": len(near),
        "ms_per_prompt": ms_per_prompt, "load_average": load,
    }  # fmt: skip
    # The audit's prompts name their trick (harmful) or theme (benign): the share blocked of each.
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, res in zip(rows, results, strict=True):
        if "audit" in row:
            groups[f"{row['label'] == 'benign' and 'benign ' or ''}{row['audit']}"].append(res.flagged)
        elif "theme" in row:  # fresh2's and fresh3's near misses name their theme
            groups[f"benign {row['theme']}"].append(res.flagged)
    if groups:
        report["blocked_by_audit_group"] = {k: f"{sum(v)}/{len(v)}" for k, v in sorted(groups.items())}
    report["errors"] = [
        {"text": row["text"], "label": row["label"], "got": res.category, "why": res.reasons}
        for row, res in zip(rows, results, strict=True)
        if (row["label"] == "benign") == res.flagged
    ]
    return report


def summary(sets: dict[str, dict]) -> Table:
    """One table: recall per category and benign false positives, a column per set."""
    table = Table(title="Prompt moderation: recall per category and benign false positives")
    table.add_column("category")
    for name in sets:
        table.add_column(f"{name} (n)", justify="right")
    cats = sorted({c for r in sets.values() for c in r["categories"]})
    for cat in cats:
        cells = []
        for result in sets.values():
            c = result["categories"].get(cat)
            cells.append(f"{c['recall']:.1%} ({c['n']})" if c else "")
        table.add_row(cat, *cells)
    table.add_row(
        "all harmful", *(f"{r['overall']['recall']:.1%} ({r['overall']['n_harmful']})" for r in sets.values())
    )
    table.add_row(
        "benign false positives",
        *(
            f"{r['overall']['benign_false_positive_rate']:.1%} ({r['overall']['n_benign']})"
            for r in sets.values()
        ),
    )
    return table


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
