"""How fast `/summary` is on years of data.

Seeds a throwaway database with three years of responses (one million answers by default,
each tied to a visit with a treatment, provider and location),
then builds the daily totals (as the bot does at start-up) and times the summary for each
period through the real `SqliteReportStore`, next to the same summary computed from the
rows (the reference, in the same run, which must agree), what the totals add to storing an
answer, and the full JSONL export. Prints figures; asserts only that both ways agree
(timings belong in benchmarks, not tests).

    python benchmarks/summary_speed.py [--answers 1000000] [--repeat 5]
        [--postgresql postgresql://postgres@127.0.0.1:5432/test]

With `--postgresql` (a server the benchmark may create a database on), the seeded file is
moved into a new PostgreSQL database with `copy-db`'s code, timed, and the same figures
are taken there; the database is dropped at the end.

The seeding writes rows with plain SQL in one transaction: going through the bot's stores
would take an fsync per answer and measure the wrong thing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import processes
from sqlalchemy import text

from bot.domain.export import response_record
from bot.domain.models import Answer, AnswerCommit, Summary
from bot.domain.periods import Period
from bot.domain.surveys import load_catalog
from bot.domain.trend import TrendPeriod
from bot.services.staff import ReportService
from handlers.charts import trend_png
from handlers.texts import CATALOGUES
from storage.copy import copy_database
from storage.database import Database, to_db_time
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CATALOG = load_catalog(None)  # the built-in surveys, as the bot runs
SCORES = CATALOG.score_questions()
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


async def measure(path: Path | str, repeat: int) -> None:
    """Build the daily totals; time the summaries both ways, an answer's write, an export."""
    database = await Database.open(path)
    store = SqliteReportStore(database)
    try:
        start = time.perf_counter()
        await store.prepare(SCORES)
        print(f"daily totals built (once, at start-up) in {time.perf_counter() - start:.1f} s")
        print(f"{'period':>8} {'totals ms':>10} {'max ms':>8} {'rows ms':>8}  responses")
        for period in Period:
            timed = await time_summary(store, period, repeat)
            print(
                f"{period.value:>8} {statistics.median(timed.from_totals):>10.1f}"
                f" {max(timed.from_totals):>8.1f} {statistics.median(timed.from_rows):>8.1f}"
                f"  {timed.summary.started}"
            )
        await time_trend(store, repeat)
        await time_answers(database)
        start = time.perf_counter()
        count = 0
        async for response in store.iter_responses(None):
            response_record(response)
            count += 1
        elapsed = time.perf_counter() - start
        print(f"export: {count} responses in {elapsed:.1f} s ({count / elapsed:,.0f}/s)")
    finally:
        await database.close()


class SummaryTimings(NamedTuple):
    """A period's summary and how long it took each time, in ms, both ways."""

    summary: Summary
    from_totals: list[float]
    from_rows: list[float]


async def time_summary(store: SqliteReportStore, period: Period, repeat: int) -> SummaryTimings:
    """`period`'s summary `repeat` times, from the daily totals and from the rows.

    The rows are the reference: the two must agree.
    """
    from_totals, from_rows = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        summary = await store.summary(period, period.since(NOW), SCORES)
        from_totals.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        reference = await store.summary(period, period.since(NOW), SCORES, from_totals=False)
        from_rows.append((time.perf_counter() - start) * 1000)
    if reference != summary:
        raise AssertionError(f"{period.value}: the totals disagree with the rows")
    return SummaryTimings(summary, from_totals, from_rows)


async def time_trend(store: SqliteReportStore, repeat: int) -> None:
    """`/trend 12m`: its figures from the daily totals, then the chart drawn (in a thread)."""
    reports = ReportService(store, FixedClock(), SCORES, CATALOG.followup_survey_ids)
    figures, drawing = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        trend = await reports.trend(TrendPeriod.MONTHS_12)
        figures.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await asyncio.to_thread(trend_png, trend, CATALOGUES["en"], "Glow Aesthetics")
        drawing.append((time.perf_counter() - start) * 1000)
    print(
        f"trend 12m: figures {statistics.median(figures):.1f} ms, chart drawn in"
        f" {statistics.median(drawing):.0f} ms (medians; {trend.responses} responses)"
    )


class FixedClock:
    """The benchmark's present."""

    def now(self) -> datetime:
        """The time the data was seeded up to."""
        return NOW


async def time_answers(database: Database, answers: int = 300) -> None:
    """What keeping the totals adds to storing an answer: with them, then without."""
    responses = SqliteResponseStore(database)
    patient = await responses.add_patient(-1, NOW)
    figures = {}
    for label in ("with totals", "without"):
        if label == "without":
            async with database.transaction() as conn:  # refreshing a day is skipped then
                await conn.run(text("DELETE FROM report_basis"))
        timings = []
        for n in range(answers):
            response = await responses.start_response(patient.id, "post_visit", NOW)
            start = time.perf_counter()
            await responses.commit_answer(
                AnswerCommit(
                    response.id, Answer("csat", n % 5 + 1, NOW), completes=True,
                    alert_reasons=(), dedup_key=None,
                )
            )  # fmt: skip
            timings.append((time.perf_counter() - start) * 1000)
        figures[label] = statistics.median(timings)
    print(
        f"storing an answer (median of {answers}): {figures['with totals']:.2f} ms with the "
        f"daily totals, {figures['without']:.2f} ms without"
    )


async def on_postgresql(path: Path, server: str, repeat: int) -> None:
    """Copy the seeded file into a new PostgreSQL database and measure there."""
    name = f"feedback_bench_{os.getpid()}"
    async with processes.new_postgresql_database(server, name) as address:
        target = await Database.open(address)
        try:
            start = time.perf_counter()
            report = await copy_database(path, target)
            print(
                f"copy-db: {sum(report.rows.values()):,} rows into PostgreSQL in"
                f" {time.perf_counter() - start:.1f} s"
            )
        finally:
            await target.close()
        print("on PostgreSQL:")
        await measure(address, repeat)


def main() -> None:
    """Seed a temporary database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgresql", help="also measure on a new database on this server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        asyncio.run(create_schema(path))
        start = time.perf_counter()
        seed(path, args.answers)
        print(f"seeded {args.answers:,} answers in {time.perf_counter() - start:.1f} s")
        if args.postgresql:  # first: measuring adds answers to the file
            asyncio.run(on_postgresql(path, args.postgresql, args.repeat))
        print("on SQLite:")
        asyncio.run(measure(path, args.repeat))


if __name__ == "__main__":
    main()
