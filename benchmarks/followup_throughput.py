"""How fast a morning batch of follow-ups goes out, under Telegram-like rate limits.

Schedules N due follow-ups (10,000 by default) in a throwaway database, then sends them
through the real follow-up service and Telegram adapter to the local fake Bot API server,
which answers 429 with retry_after to anything over its per-second limit, like Telegram.
Prints the achieved messages per second against the allowed rate, the 429s our own
pacing caused (the goal: none), and the peak memory. Runs in real time: 10,000 messages
at 28 a second take about six minutes.

    python benchmarks/followup_throughput.py [--count 10000] [--allowed 30] [--rate 28]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot

from bot.domain.models import Answer, AnswerCommit, ScheduledFollowup
from bot.domain.schedule import FollowupPolicy, SendHours
from bot.domain.surveys import load_catalog
from bot.pacing import Pacer
from bot.services.followups import FollowupService
from handlers.followups import TelegramFollowupSender
from storage.database import Database
from storage.followups import SqliteFollowupStore
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


class Clock:
    """The service's clock: due dates are 14 days after START."""

    def now(self) -> datetime:
        """Fifteen days after the visits."""
        return START + timedelta(days=15)


async def schedule(db: Path, count: int) -> None:
    """`count` patients with one completed visit survey and one due follow-up each."""
    database = await Database.open(db)
    store = SqliteResponseStore(database)
    try:
        for number in range(count):
            patient = await store.add_patient(1_000_000 + number, START)
            response = await store.start_response(patient.id, "post_visit", START)
            due = START + timedelta(days=14)
            followup = ScheduledFollowup("results_check", due, due + timedelta(days=14))
            await store.commit_answer(
                AnswerCommit(
                    response.id,
                    Answer("csat", 5, START),
                    completes=True,
                    alert_reasons=(),
                    dedup_key=None,
                    followups=(followup,),
                )
            )
    finally:
        await database.close()


async def measure(count: int, allowed: float, rate: float) -> None:
    """Send the batch and print the figures."""
    telegram = FakeTelegram(max_sends_per_second=allowed)
    await telegram.start()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        started = time.perf_counter()
        await schedule(db, count)
        print(f"scheduled {count:,} follow-ups in {time.perf_counter() - started:.1f} s")
        catalog = load_catalog()
        database = await Database.open(db)
        try:
            async with Bot(telegram.token, base_url=telegram.api_url) as bot:
                service = FollowupService(
                    SqliteFollowupStore(database),
                    SqliteResponseStore(database),
                    TelegramFollowupSender(bot, catalog, Pacer(rate), "Benchmark Clinic"),
                    catalog,
                    Clock(),
                    policy=FollowupPolicy(SendHours.parse("00:00-24:00", "UTC"), batch=count),
                )
                started = time.perf_counter()
                report = await service.dispatch()
                elapsed = time.perf_counter() - started
        finally:
            await database.close()
            await telegram.stop()
    sends = [c for c in telegram.calls if c.method == "sendMessage"]
    refused = sum(c.status == 429 for c in sends)
    achieved = report.sent / elapsed
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sent {report.sent:,} of {count:,} in {elapsed:.1f} s")
    print(
        f"achieved {achieved:.1f} messages/s of {allowed:.0f} allowed "
        f"({achieved / allowed:.0%}); pacer set to {rate:g}/s"
    )
    print(f"429 Too Many Requests caused by our pacing: {refused}")
    print(f"peak memory (max RSS): {peak_mib:.0f} MiB")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--allowed", type=float, default=30, help="the fake's limit per second")
    parser.add_argument("--rate", type=float, default=28, help="our pacer's rate per second")
    args = parser.parse_args()
    # As `feedback-bot` does: PTB 22 would warn on each 429 otherwise.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    asyncio.run(measure(args.count, args.allowed, args.rate))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
