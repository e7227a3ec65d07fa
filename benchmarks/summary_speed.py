"""How fast `/summary` is on years of data.

Seeds a throwaway database with three years of responses (one million answers by default,
each tied to a visit with a treatment, provider and location),
then times the summary for each period through the real `SqliteReportStore`, and the full
JSONL export. Prints figures; asserts nothing (timings belong in benchmarks, not tests).

    python benchmarks/summary_speed.py [--answers 1000000] [--repeat 5]

The seeding writes rows with plain SQL in one transaction: going through the bot's stores
would take an fsync per answer and measure the wrong thing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain.export import response_record
from bot.domain.models import Period
from bot.domain.surveys import load_catalog
from storage.database import Database, to_db_time
from storage.reports import SqliteReportStore

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SCORES = load_catalog(None).score_questions()  # the built-in surveys, as the bot runs
TREATMENTS = ["neuromodulator", "filler", "laser", "peel", "skin_care"]
PROVIDERS = [f"Dr {name}" for name in ("Li", "Kim", "Ruiz", "Okafor", "Silva", "Novak")]
LOCATIONS = ["Downtown", "Uptown", "Airport"]
COMMENTS = [
    ("Lovely staff, great result", 0.7, "positive"),
    ("Fine", 0.0, "neutral"),
    ("Terrible wait and rude reception", -0.8, "negative"),
]


def seed(path: Path, answers: int) -> None:
    """Three answers per response (csat, nps, comment), spread over three years."""
    responses = answers // 3
    rng = random.Random(1)
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at) VALUES (?, ?, ?, ?)",
            (
                (n, n, f"P-{n:08d}", to_db_time(NOW - timedelta(days=1100)))
                for n in range(responses)
            ),
        )
        starts = [
            NOW - timedelta(seconds=rng.randrange(3 * 365 * 86400)) for _ in range(responses)
        ]
        connection.executemany(
            "INSERT INTO visits (id, survey_id, treatment, provider, location, created_at)"
            " VALUES (?, 'post_visit', ?, ?, ?, ?)",
            (
                (n, rng.choice(TREATMENTS), rng.choice(PROVIDERS), rng.choice(LOCATIONS), at)
                for n, at in enumerate(to_db_time(s) for s in starts)
            ),
        )
        connection.executemany(
            "INSERT INTO responses (id, patient_id, survey_id, status, started_at, completed_at,"
            " visit_id) VALUES (?, ?, 'post_visit', 'completed', ?, ?, ?)",
            ((f"r{n}", n, to_db_time(s), to_db_time(s), n) for n, s in enumerate(starts)),
        )

        def rows() -> Iterator[tuple[object, ...]]:
            for n, started in enumerate(starts):
                at = to_db_time(started)
                yield (f"r{n}", "csat", "int", rng.randint(1, 5), None, at, None, None)
                yield (f"r{n}", "nps", "int", rng.randint(0, 10), None, at, None, None)
                text, polarity, label = rng.choice(COMMENTS)
                yield (f"r{n}", "comment", "text", None, text, at, polarity, label)

        connection.executemany(
            "INSERT INTO answers (response_id, question_id, value_kind, value_int, value_text,"
            " answered_at, polarity, sentiment_label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
    connection.execute("ANALYZE")
    connection.close()


async def create_schema(path: Path) -> None:
    """An empty database with every migration applied."""
    database = await Database.open(path)
    await database.close()


async def measure(path: Path, repeat: int) -> None:
    """Time each period's summary `repeat` times, then one full export."""
    database = await Database.open(path)
    store = SqliteReportStore(database)
    try:
        print(f"{'period':>8} {'median ms':>10} {'max ms':>8}  responses")
        for period in Period:
            timings = []
            for _ in range(repeat):
                start = time.perf_counter()
                summary = await store.summary(period, period.since(NOW), SCORES)
                timings.append((time.perf_counter() - start) * 1000)
            print(
                f"{period.value:>8} {statistics.median(timings):>10.1f} {max(timings):>8.1f}"
                f"  {summary.started}"
            )
        start = time.perf_counter()
        count = 0
        async for response in store.iter_responses(None):
            response_record(response)
            count += 1
        elapsed = time.perf_counter() - start
        print(f"export: {count} responses in {elapsed:.1f} s ({count / elapsed:,.0f}/s)")
    finally:
        await database.close()


def main() -> None:
    """Seed a temporary database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        asyncio.run(create_schema(path))
        start = time.perf_counter()
        seed(path, args.answers)
        print(f"seeded {args.answers:,} answers in {time.perf_counter() - start:.1f} s")
        asyncio.run(measure(path, args.repeat))


if __name__ == "__main__":
    main()
