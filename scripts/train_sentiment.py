"""Train the word model behind the clinic's sentiment scorer; writes bot/sentiment_model.json.

Trains logistic regressions for "is this text negative?" on the human-labeled sets in
../shared/datasets: the DrugLib train split and four fifths of each VADER set. The fifth
`benchmarks/sentiment_data.held_out` picks, and the DrugLib test split, are never trained on;
benchmarks/sentiment_eval.py reports on them. Features are words and word pairs, with
negation scope marked, plus VADER's scores for short and long texts apart. Pure Python and
deterministic: anyone can rerun it and get the same weights.

    python scripts/train_sentiment.py [--data ../shared/datasets] [--validate]

A fifth of the training rows is kept out of fitting to choose each model's threshold;
--validate prints figures on that fifth, to compare designs without ever looking at the
held-out rows.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from sentiment_data import DEFAULT_DATA, VADER_SETS, Example, load
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.sentiment import (
    AESTHETIC_LEXICON,
    dense_features,
    prepare,
    word_features,
)

MIN_COUNT = 3
EPOCHS = 8
L2 = 1e-5
LEARNING_RATE = 0.3
# DrugLib's long patient reviews are few next to thousands of short snippets; counting each
# several times keeps the model from learning only what snippets look like.
SOURCE_WEIGHT = {"druglib": 3.0}
KEEP = 8_000  # per model, the strongest weights: a small file, and no rare one-off words
OUT = ROOT / "bot" / "sentiment_model.json"

Row = tuple[set[str], dict[str, float], bool, float]


def examples_for_training(data: Path) -> list[Example]:
    """Everything that may be trained on (never a held-out row)."""
    rows = [e for name in VADER_SETS for e in load(data, name) if e.split == "train"]
    return rows + [e for e in load(data, "druglib") if e.split == "train"]


def featurise(examples: list[Example]) -> list[Row]:
    """Features, the label and the weight of each example."""
    vader = SentimentIntensityAnalyzer()
    vader.lexicon.update(AESTHETIC_LEXICON)
    rows = []
    for example in examples:
        text = prepare(example.text)
        words, word_count = word_features(text)
        dense = dense_features(vader.polarity_scores(text), word_count)
        weight = SOURCE_WEIGHT.get(example.source, 1.0)
        rows.append((words, dense, example.label == -1, weight))
    return rows


def probability(weights: dict[str, float], words: set[str], dense: dict[str, float]) -> float:
    """P(negative), as bot.sentiment.WordModel computes it."""
    total = sum(weights.get(feature, 0.0) for feature in words)
    total += sum(weights.get(name, 0.0) * value for name, value in dense.items())
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, total))))


def train(rows: list[Row]) -> dict[str, float]:
    """Logistic regression by AdaGrad, with a little L2."""
    counts = Counter(feature for words, _, _, _ in rows for feature in words)
    known = {feature for feature, count in counts.items() if count >= MIN_COUNT}
    weights: dict[str, float] = {}
    squared: dict[str, float] = {}
    rng = random.Random(461)
    order = list(range(len(rows)))
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for index in order:
            words, dense, negative, weight = rows[index]
            inputs = {feature: 1.0 for feature in words if feature in known} | dense
            error = (probability(weights, set(), inputs) - negative) * weight
            for name, value in inputs.items():
                gradient = error * value + L2 * weights.get(name, 0.0)
                squared[name] = squared.get(name, 0.0) + gradient * gradient
                weights[name] = weights.get(name, 0.0) - (
                    LEARNING_RATE * gradient / math.sqrt(squared[name] + 1e-8)
                )
    dense_names = set(rows[0][1])
    strongest = sorted(
        (name for name in weights if name not in dense_names),
        key=lambda name: abs(weights[name]),
        reverse=True,
    )[:KEEP]
    return {name: round(weights[name], 4) for name in [*dense_names, *strongest]}


def best_threshold(rows: list[Row], weights: dict[str, float]) -> float:
    """The cut-off with the best negative F1 over the rows (weighted as in training)."""
    scored = [(probability(weights, w, d), n, weight) for w, d, n, weight in rows]
    best, best_f1 = 0.5, 0.0
    for step in range(20, 71):
        cut = step / 100
        tp = sum(weight for p, n, weight in scored if p >= cut and n)
        flagged = sum(weight for p, _, weight in scored if p >= cut)
        actual = sum(weight for _, n, weight in scored if n)
        f1 = 2 * tp / (flagged + actual) if flagged + actual else 0.0
        if f1 > best_f1:
            best, best_f1 = cut, f1
    return best


def negative_f1(rows: list[Row], models: dict[str, dict[str, Any]]) -> float:
    """Negative F1 of the models alone ("P(negative) >= threshold"), each for its length."""
    predictions = []
    for words, dense, negative, _ in rows:
        model = models["long" if dense["long"] == 1.0 else "short"]
        predictions.append(
            (probability(model["weights"], words, dense) >= model["threshold"], negative)
        )
    tp = sum(p and n for p, n in predictions)
    flagged = sum(p for p, _ in predictions)
    actual = sum(n for _, n in predictions)
    return 2 * tp / (flagged + actual) if flagged + actual else 0.0


def main() -> None:
    """Train, choose the threshold, and write the model file (or, --validate, report)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    examples = examples_for_training(args.data)
    # A fifth of the training rows chooses each model's threshold: probabilities on rows a
    # model was fitted to are overconfident, so a cut chosen there is too high.
    calibration = [e for e in examples if zlib.crc32(e.id.encode()) % 5 == 1]
    fitting = [e for e in examples if zlib.crc32(e.id.encode()) % 5 != 1]
    rows, calibration_rows = featurise(fitting), featurise(calibration)
    models = {}
    for size in ("short", "long"):

        def of_size(part: list[Row], size: str = size) -> list[Row]:
            return [row for row in part if (row[1]["long"] == 1.0) == (size == "long")]

        weights = train(of_size(rows))
        models[size] = {
            "threshold": best_threshold(of_size(calibration_rows), weights),
            "weights": weights,
        }
    if args.validate:
        for source in (*VADER_SETS, "druglib"):
            part = featurise([e for e in calibration if e.source == source])
            f1 = negative_f1(part, models)
            print(f"calibration {source:<8} negative F1 (model alone) {f1:.3f}")
        return
    OUT.write_text(
        json.dumps(
            {
                "about": (
                    "Logistic regressions for negative sentiment (short comments, long "
                    "reviews), trained by scripts/train_sentiment.py on: the VADER ICWSM-2014 "
                    "sentence sets (Hutto & Gilbert 2014, MIT licence) and the Drug Review "
                    "Dataset (Druglib.com), UCI ML Repository #461 (Graesser et al. 2018, "
                    "CC BY 4.0). Only weights are stored; no text from the datasets."
                ),
                "examples": len(rows),
                **{
                    size: {
                        "threshold": m["threshold"],
                        "weights": dict(sorted(m["weights"].items())),
                    }
                    for size, m in models.items()
                },
            },
            ensure_ascii=False,
            indent=0,
        ),
        "utf-8",
    )
    kept = sum(len(m["weights"]) for m in models.values())
    print(f"trained on {len(rows):,} texts; kept {kept:,} weights")


if __name__ == "__main__":
    main()
