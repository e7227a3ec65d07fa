"""The sentiment scorer against TextBlob, on the human-labeled sets, side by side.

For each set: negative precision, recall and F1 (a text is flagged negative when the
scorer labels it negative), three-class macro-F1, Spearman correlation of polarity with the
human score, and texts per second. Only held-out rows are scored: the DrugLib test split and
a fixed fifth of each VADER set, which scripts/train_sentiment.py never trains on.

    python benchmarks/sentiment_eval.py [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sentiment_data import DEFAULT_DATA, Example, load

from bot.domain.models import Sentiment, SentimentLabel
from bot.sentiment import ClinicScorer
from bot.sentiment.baseline import TextBlobScorer

LABELS = {SentimentLabel.NEGATIVE: -1, SentimentLabel.NEUTRAL: 0, SentimentLabel.POSITIVE: 1}
# Held-out rows only: the fifth of each VADER set and the DrugLib test split that
# scripts/train_sentiment.py never trains on.
SETS = (
    ("tweets", "tweets"),
    ("amazon", "amazon"),
    ("movies", "movies"),
    ("nyt", "nyt"),
    ("druglib", "druglib"),
)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _class_scores(gold: Sequence[int], predicted: Sequence[int], cls: int) -> tuple[float, ...]:
    tp = sum(g == cls and p == cls for g, p in zip(gold, predicted, strict=True))
    flagged = sum(p == cls for p in predicted)
    actual = sum(g == cls for g in gold)
    precision = tp / flagged if flagged else 0.0
    recall = tp / actual if actual else 0.0
    return precision, recall, _f1(precision, recall)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2
        start = end + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get average ranks)."""
    ra, rb = _ranks(a), _ranks(b)
    mean_a, mean_b = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in ra)
    var_b = sum((y - mean_b) ** 2 for y in rb)
    return cov / (var_a * var_b) ** 0.5 if var_a and var_b else 0.0


def evaluate(score: Callable[[str], Sentiment], examples: list[Example]) -> dict[str, float]:
    """Every figure for one scorer on one set."""
    score(examples[0].text)  # loading lexicons is not scoring: keep it out of the timing
    started = time.perf_counter()
    results = [score(example.text) for example in examples]
    elapsed = time.perf_counter() - started
    gold = [example.label for example in examples]
    predicted = [LABELS.get(result.label, 0) for result in results]
    precision, recall, f1 = _class_scores(gold, predicted, -1)
    macro = sum(_class_scores(gold, predicted, cls)[2] for cls in (-1, 0, 1)) / 3
    rho = spearman([r.polarity for r in results], [e.score for e in examples])
    return {
        "P": precision,
        "R": recall,
        "F1": f1,
        "macro": macro,
        "rho": rho,
        "per_s": len(examples) / elapsed,
    }


def main() -> None:
    """Print the side-by-side table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    scorers = {"TextBlob": TextBlobScorer().score, "ours": ClinicScorer().score}
    print(
        f"{'set':<15} {'scorer':<9} {'neg P':>6} {'neg R':>6} {'neg F1':>6} "
        f"{'macroF1':>7} {'rho':>6} {'texts/s':>8}"
    )
    for title, name in SETS:
        examples = [e for e in load(args.data, name) if e.split == "test"]
        for scorer_name, scorer in scorers.items():
            r = evaluate(scorer, examples)
            print(
                f"{title:<15} {scorer_name:<9} {r['P']:>6.2f} {r['R']:>6.2f} {r['F1']:>6.2f} "
                f"{r['macro']:>7.2f} {r['rho']:>6.2f} {r['per_s']:>8.0f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
