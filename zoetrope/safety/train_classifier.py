"""Train the moderation classifier again and write `data/classifier.safetensors`, or validate it.

`python -m zoetrope.safety.train_classifier` retrains on the training prompts and the labelled
sets in `zoetrope.safety.classifier.TRAINING_SETS`; `--validate` prints the two-fold validation
table that picks the thresholds in `data/policy.toml`, and writes nothing. A module of its own, which
the package never imports, so `-m` runs it cleanly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zoetrope.safety.classifier import (
    ROOT,
    TRAINING_SETS,
    WEIGHTS,
    save_classifier,
    train,
    training_prompts,
    validate,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--validate", action="store_true", help="print a two-fold validation table, write nothing"
    )
    ap.add_argument(
        "--show", type=float, nargs=2, metavar=("CLASSIFIER", "VETO"), help="print those thresholds' errors"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "data" / WEIGHTS,
        help="where to write the weights (default: the shipped data/classifier.safetensors)",
    )
    args = ap.parse_args()
    if args.validate:
        validate([0.6, 0.7, 0.8, 0.9], [0.0, 0.2, 0.3], show=tuple(args.show) if args.show else None)
        return
    from zoetrope.model.text import get_text_encoder
    from zoetrope.safety.policy import default_policy

    labels = ["benign", *default_policy().categories]
    pairs = training_prompts([ROOT / p for p in TRAINING_SETS])
    save_classifier(train(pairs, labels, get_text_encoder().embed), args.out)
    print(f"trained on {len(pairs)} prompts; wrote {args.out}")


if __name__ == "__main__":
    main()
