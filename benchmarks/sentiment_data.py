"""Reading the labeled sets in ../shared/datasets (see their READMEs); nothing is copied."""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"

# "Negative" per set, as ../shared/datasets/README.md defines it.
VADER_SETS = ("tweets", "amazon", "movies", "nyt")


@dataclass(frozen=True, slots=True)
class Example:
    """One labeled text: `score` as the set gives it and `label` in -1 / 0 / +1.

    `split` says whether it may be trained on ("train") or is held out ("test").
    """

    id: str
    source: str
    text: str
    score: float
    label: int
    split: str


def held_out(row_id: str) -> bool:
    """A fixed fifth of each VADER set, never trained on (DrugLib has its own split)."""
    return zlib.crc32(row_id.encode()) % 5 == 0


def _vader_label(score: float) -> int:
    if score <= -0.05:
        return -1
    return 1 if score >= 0.05 else 0


def _rating_label(rating: float) -> int:
    if rating <= 4:
        return -1
    return 0 if rating <= 6 else 1


def load(data: Path, name: str) -> list[Example]:
    """A set by name: tweets, amazon, movies, nyt, or druglib (druglib_full.csv)."""
    vader = name in VADER_SETS
    if vader:
        path, labeller = data / "vader_icwsm2014" / f"{name}.csv", _vader_label
    else:
        path, labeller = data / "druglib_uci461" / "druglib_full.csv", _rating_label
    with path.open(encoding="utf-8", newline="") as file:
        return [
            Example(
                id=row["id"],
                source=name,
                text=row["text"],
                score=float(row["score"]),
                label=labeller(float(row["score"])),
                split=("test" if held_out(row["id"]) else "train") if vader else row["split"],
            )
            for row in csv.DictReader(file)
        ]
