"""The safety lane on side-effect reports rated by their own authors, before and now.

DrugLib's raw reviews (../shared/datasets/druglib_uci461/original) carry each reviewer's own
rating of their side effects (No / Mild / Moderate / Severe / Extremely Severe) and their
side-effect text. For each rating this prints the share of texts the lane flags as a possible
complication, for the lane as it was at stop 7 (a list of 55 terms, kept below as the
reference) and for the lexicons now, on the train file (which the lexicons were tuned on)
and on the test file (looked at only to report). Targets (issue 9): Severe + Extremely severe
>= 60%, Mild <= 15%, No side effects <= 5%.

    python benchmarks/safety_eval.py [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
import csv
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sentiment_data import DEFAULT_DATA

from bot.sentiment import ClinicScorer

RATINGS = ("No", "Mild", "Moderate", "Severe", "Extremely")
FILES = {"train": "drugLibTrain_raw.tsv", "test": "drugLibTest_raw.tsv"}

# The lane at stop 7 (bot/domain/topics.py then), for the side-by-side figures.
STOP7_TERMS = (
    "bleeding", "bleeds", "bled", "infection", "infected", "pus", "oozing", "abscess", "blister",
    "blisters", "blistering", "vision", "blurry", "blurred", "double vision", "can't see",
    "cannot see", "blind", "severe pain", "worsening pain", "pain is getting worse",
    "pain getting worse", "getting worse", "unbearable", "drooping eyelid", "droopy eyelid",
    "eyelid is drooping", "eyelid drooping", "ptosis", "turned white", "turning white",
    "white patch", "gone white", "turned grey", "turning grey", "turned gray", "turning gray",
    "grey skin", "gray skin", "dusky", "lump", "lumps", "lumpy", "hard lump", "nodule", "fever",
    "allergic", "hives", "can't breathe", "cannot breathe", "necrosis", "burned", "burnt",
)  # fmt: skip
_STOP7 = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(t) for t in sorted(STOP7_TERMS, key=len, reverse=True))
    + r")(?![\w'])"
)
_STOP7_NEGATION = re.compile(
    r"\b(no|not|never|without|nor|isn't|wasn't|didn't|don't|hasn't|haven't)\b"
)


def stop7_flags(text: str) -> bool:
    """Whether the stop-7 lane flagged the text."""
    lowered = text.lower()
    for match in _STOP7.finditer(lowered):
        before = lowered[max(0, match.start() - 25) : match.start()]
        if not _STOP7_NEGATION.search(re.split(r"[.,;:!?]| but ", before)[-1]):
            return True
    return False


def rows(data: Path, split: str) -> list[tuple[str, str]]:
    """(rating, side-effect text) of one file."""
    path = data / "druglib_uci461" / "original" / FILES[split]
    with path.open(encoding="utf-8", newline="") as file:
        return [
            (row["sideEffects"].split()[0], row["sideEffectsReview"])
            for row in csv.DictReader(file, delimiter="\t")
        ]


def shares(flags: Callable[[str], bool], examples: list[tuple[str, str]]) -> dict[str, float]:
    """The share flagged per rating, and for Severe + Extremely severe together."""
    flagged, seen = Counter[str](), Counter[str]()
    for rating, text in examples:
        seen[rating] += 1
        flagged[rating] += flags(text)
    result = {rating: flagged[rating] / seen[rating] for rating in RATINGS}
    severe = ("Severe", "Extremely")
    result["Sev+Ext"] = sum(flagged[r] for r in severe) / sum(seen[r] for r in severe)
    return result


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    scorer = ClinicScorer()
    lanes = {
        "stop 7": stop7_flags,
        "now": lambda text: "safety" in scorer.score(text).topics,
    }
    columns = (*RATINGS, "Sev+Ext")
    print(f"{'split':<6} {'lane':<7} " + " ".join(f"{c:>9}" for c in columns) + "  texts/s")
    for split in FILES:
        examples = rows(args.data, split)
        for name, flags in lanes.items():
            started = time.perf_counter()
            result = shares(flags, examples)
            speed = len(examples) / (time.perf_counter() - started)
            figures = " ".join(f"{result[c]:>9.1%}" for c in columns)
            print(f"{split:<6} {name:<7} {figures} {speed:>8.0f}")
    print("targets: Sev+Ext >= 60%, Mild <= 15%, No <= 5%")


if __name__ == "__main__":
    main()
