"""Visits posted to the intake API at once: events a second and latency, beside /healthz.

Starts `feedback-bot run` (SQLite, long polling, the intake API on a loopback port) against
the local fake Bot API, then posts `--events` visit events (default 2,000), `--concurrency`
at a time (default 50), half of them repeats of an event already sent (a booking system's
retries). It prints the events a second and the median and 95th percentile time from
request to answer, and the same for as many `GET /healthz` calls made the same way in the
same run: the server's own floor, with one database read and no write. Every first event
must be answered 201 and every repeat 200 with the same code, and the database must hold
one invitation per event; the benchmark stops if not.

    python benchmarks/intake_load.py [--events 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import processes
from aiohttp import ClientSession

from storage.copy import row_counts
from storage.database import Database
from tests.fake_telegram import FakeTelegram

TOKEN = "benchmark-intake-token-0123456789abcdef"  # noqa: S105 - the benchmark's own bot
TARGET_EVENTS_A_SECOND = 300
TARGET_P95_MS = 100


@dataclass
class Timed:
    """Answers and how long each took."""

    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        """Requests answered a second."""
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        """The latency below which `share` of the requests were answered, in ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def visit(n: int) -> dict[str, Any]:
    """Visit event `n`, as a booking system posts it."""
    return {
        "event_id": f"appt-{n}-done",
        "patient": {"id": f"cust-{n}", "email": f"patient{n}@example.org"},
        "treatment": random.choice(["Botox", "filler", "laser", "chemical peel"]),
        "provider": random.choice(["Dr Li", "Dr Ruiz", "Anna"]),
        "location": random.choice(["Downtown", "Uptown"]),
        "visit_at": "2026-12-05T15:30:00-05:00",
    }


async def timed(requests: list[Callable[[], Awaitable[None]]], concurrency: int) -> Timed:
    """Run the requests, `concurrency` at a time, timing each."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(request: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            started = time.perf_counter()
            await request()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(request) for request in requests))
    return Timed(time.perf_counter() - started, latencies)


async def wait_until_serving(session: ClientSession, url: str) -> None:
    """Until the bot answers /healthz (it has started)."""
    for _ in range(600):
        try:
            async with session.get(url) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the bot did not start serving the intake API")


async def measure(events: int, concurrency: int, workdir: Path) -> tuple[Timed, Timed]:
    """Post the events, then as many health checks; check what was stored."""
    telegram = FakeTelegram()
    await telegram.start()
    listen = f"127.0.0.1:{processes.free_port()}"
    db = workdir / "intake.db"
    process = await processes.start_bot(
        telegram, db, workdir / "intake.log", api_tokens=TOKEN, http_listen=listen
    )
    first = events // 2
    bodies = [visit(n) for n in range(first)]
    # The other half repeat events already posted, interleaved with the first sends.
    order = [*range(first), *(random.randrange(first) for _ in range(events - first))]
    random.shuffle(order)
    codes: dict[int, set[str]] = {n: set() for n in range(first)}
    statuses: list[int] = []
    try:
        async with ClientSession() as session:
            await wait_until_serving(session, f"http://{listen}/healthz")
            headers = {"Authorization": f"Bearer {TOKEN}"}

            def post(n: int) -> Callable[[], Awaitable[None]]:
                async def send() -> None:
                    async with session.post(
                        f"http://{listen}/api/v1/visits", json=bodies[n], headers=headers
                    ) as reply:
                        statuses.append(reply.status)
                        codes[n].add((await reply.json())["code"])

                return send

            def health() -> Callable[[], Awaitable[None]]:
                async def check() -> None:
                    async with session.get(f"http://{listen}/healthz") as reply:
                        await reply.read()

                return check

            intake = await timed([post(n) for n in order], concurrency)
            reference = await timed([health() for _ in range(events)], concurrency)
    finally:
        await processes.stop(process)
        await telegram.stop()
    check(statuses, codes, first, await stored_visits(db))
    return intake, reference


async def stored_visits(db: Path) -> int:
    """Invitations in the database."""
    database = await Database.open(db)
    try:
        return (await row_counts(database))["visit_events"]
    finally:
        await database.close()


def check(statuses: list[int], codes: dict[int, set[str]], first: int, stored: int) -> None:
    """Stop unless each event made one invitation, answered 201 once and 200 after."""
    created = statuses.count(201)
    problems = []
    if created != first or len(statuses) - created != statuses.count(200):
        problems.append(
            f"answers: {created} created, {statuses.count(200)} repeats, of {statuses}"
        )
    if any(len(found) != 1 for found in codes.values()):
        problems.append("an event was answered with two different codes")
    if stored != first:
        problems.append(f"{stored} events stored for {first} sent")
    if problems:
        sys.exit("FAILED: " + "; ".join(problems[:3]))


def main() -> None:
    """Measure, print side by side, and say whether the targets hold."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        intake, health = asyncio.run(measure(args.events, args.concurrency, Path(tmp)))
    print(f"{args.events} requests, {args.concurrency} at a time (half of the events repeats)")
    print(f"{'':<28}{'POST /api/v1/visits':>22}{'GET /healthz':>15}")
    print(f"{'requests a second':<28}{intake.per_second:>22.0f}{health.per_second:>15.0f}")
    for label, share in (("median (ms)", 0.5), ("95th percentile (ms)", 0.95)):
        print(f"{label:<28}{intake.percentile(share):>22.1f}{health.percentile(share):>15.1f}")
    median = statistics.median(intake.latencies) * 1000
    print(
        f"events a second: {intake.per_second:.0f} (target >= {TARGET_EVENTS_A_SECOND}); "
        f"95th percentile {intake.percentile(0.95):.0f} ms (target <= {TARGET_P95_MS}); "
        f"median {median:.0f} ms"
    )


if __name__ == "__main__":
    main()
