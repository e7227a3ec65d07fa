"""Spanish comments: the scorer and its two parts, side by side.

On tests/data/comments_es.csv (80 short comments in the words of an aesthetic clinic's
patients, 30 unhappy, 20 neutral, 30 happy, written and labelled by the team: no public
labelled Spanish set of clinic comments could be had offline), prints for each reader
negative precision, recall and F1, three-class macro-F1 and texts per second:

- stop 7: the scorer before Spanish was read (every comment `unknown`);
- lexicon: the valences of bot/sentiment/data/es.toml with negation and "pero", alone;
- model: the naive Bayes model distilled from sentiment-analysis-spanish, alone;
- ours: what the bot does (lexicon, model when the lexicon finds nothing, complaints),
  with the patient's language given, and without it (the language found from the text).

    python benchmarks/spanish_eval.py
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from pathlib import Path

from sentiment_eval import LABELS, _class_scores

from bot.domain.models import SentimentLabel
from bot.sentiment import ClinicScorer
from bot.sentiment.english import label_for
from bot.sentiment.lexicon import fold, lexicon
from bot.sentiment.spanish import MODEL_SCALE, NaiveBayes, SpanishReader

STOP_7 = "stop 7"
UNKNOWN = 2  # `unknown`: none of the three classes, so wrong for every comment
COMMENTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "comments_es.csv"


def comments() -> list[tuple[str, int]]:
    """(text, -1 / 0 / +1) of every comment."""
    with COMMENTS.open(encoding="utf-8", newline="") as file:
        return [
            (row["text"], LABELS[SentimentLabel(row["label"])]) for row in csv.DictReader(file)
        ]


def main() -> None:
    """Print the table."""
    scorer = ClinicScorer()
    model = NaiveBayes.shipped()
    lexicon_alone = SpanishReader(lexicon("es"), {}, NaiveBayes(0.0, {}))

    def label_of(polarity: float) -> int:
        return LABELS[label_for(polarity, -0.05, 0.05)]

    readers: dict[str, Callable[[str], int]] = {
        STOP_7: lambda _: UNKNOWN,
        "lexicon": lambda text: label_of(lexicon_alone.read(text, fold(text)).polarity),
        "model": lambda text: label_of(math.tanh(model.log_odds(text) / MODEL_SCALE)),
        "ours": lambda text: LABELS.get(scorer.score(text, "es").label, 0),
        "ours, no hint": lambda text: LABELS.get(scorer.score(text).label, 0),
    }
    examples = comments()
    gold = [label for _, label in examples]
    print(f"{'reader':<14} {'neg P':>6} {'neg R':>6} {'neg F1':>6} {'macroF1':>7} {'texts/s':>8}")
    for name, read in readers.items():
        started = time.perf_counter()
        predicted = [read(text) for text, _ in examples]
        speed = f"{len(examples) / (time.perf_counter() - started):>8.0f}"
        precision, recall, f1 = _class_scores(gold, predicted, -1)
        macro = sum(_class_scores(gold, predicted, cls)[2] for cls in (-1, 0, 1)) / 3
        print(
            f"{name:<14} {precision:>6.2f} {recall:>6.2f} {f1:>6.2f} {macro:>7.2f} "
            f"{speed if name != STOP_7 else '-':>8}"
        )


if __name__ == "__main__":
    main()
