"""Many patients answering at once: how fast the real bot answers, beside a bare bot.

Starts `feedback-bot run` against the local fake Bot API, where every call takes `--delay`
seconds (default 0.05, about Telegram's distance), and has `--patients` patients (default
100) answer the default survey at the same moment: /start, "I agree", the treatment, two
taps and a typed comment. Then the same patients, on a fresh server with the same delay,
answer `bare_bot.py`: python-telegram-bot with concurrent updates, making the same Bot API
calls per step, with no storage. For each it prints the steps a second, the median and
95th percentile time from a patient's tap (or message) to the bot's next message, and the
Bot API calls per step.

Then memory: `--mid-survey` patients (default 10,000) are put mid-survey in a new
database, and all of them tap their answer at once; it prints how long the bot took to
answer them all and its peak resident memory (Linux's VmHWM).

    python benchmarks/survey_load.py [--patients 100] [--delay 0.05] [--mid-survey 10000]
        [--postgresql postgresql://postgres@127.0.0.1:5432/test]

With `--postgresql` (a server the benchmark may create databases on), the same patients then
answer the bot on PostgreSQL in webhook mode: one worker, then three behind the fake's
round-robin load balancer, each on a new database, side by side with the SQLite bot's
figures from the same run. CPU is the workers' together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import processes
from sqlalchemy import text

from storage.database import Database
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram, Person, SentMessage

COMMENT = "Lovely staff, everything was explained well"
REPLY_TIMEOUT = 600.0  # seconds: far beyond any answer; a timeout means a lost step
FIRST_PATIENT = 10_000_000


@dataclass
class Result:
    """One bot's figures."""

    steps: int
    seconds: float
    latencies: list[float]
    calls: int
    peak_rss_mb: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        """Steps handled a second, over the whole run."""
        return self.steps / self.seconds

    @property
    def cpu_ms(self) -> float:
        """The bot process's CPU time a step, in milliseconds."""
        return self.cpu_seconds / self.steps * 1000

    def percentile(self, share: float) -> float:
        """Tap-to-answer time at this share (0.5 for the median), in seconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _choice(message: SentMessage) -> str:
    """The button a patient taps: 9 for the recommendation question, else the first."""
    buttons = message.buttons()
    if message.text.startswith("Question 2"):
        return next(data for label, data in buttons if label == "9" and data)
    data = buttons[0][1]
    if data is None:  # pragma: no cover - every survey button carries data
        raise AssertionError(f"a button without data on {message.text!r}")
    return data


async def walk(person: Person, latencies: list[float]) -> None:
    """One patient through the survey, timing each step from their action to the reply."""
    server, read = person.server, 0

    async def reply_to(action: Awaitable[Any]) -> SentMessage:
        nonlocal read
        started = time.perf_counter()
        await action
        await server.wait_for_messages(person.chat_id, read, REPLY_TIMEOUT)
        latencies.append(time.perf_counter() - started)
        message = server.messages_to(person.chat_id)[read]
        read += 1
        return message

    message = await reply_to(person.send("/start"))
    while not message.text.startswith("Thank you"):
        if message.text.startswith("Question 3"):
            message = await reply_to(person.send(COMMENT))
        else:
            message = await reply_to(person.press(message, _choice(message), wait=False))


async def start_bare(telegram: FakeTelegram, log: Path) -> asyncio.subprocess.Process:
    """`bare_bot.py` against the fake server."""
    env = processes.bot_environment(telegram, log.with_suffix(".db"))
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("bare_bot.py")),
            env=env,
            stdout=out,
            stderr=out,
        )


async def measure(bare: bool, patients: int, delay: float, workdir: Path) -> Result:  # noqa: FBT001
    """Run the patients against one bot and take its figures."""
    telegram = FakeTelegram(call_delay=delay)
    await telegram.start()
    name = "bare" if bare else "bot"
    log = workdir / f"{name}.log"
    if bare:
        process = await start_bare(telegram, log)
    else:
        process = await processes.start_bot(telegram, workdir / f"{name}.db", log)
    try:
        await walk(telegram.patient(FIRST_PATIENT - 1), [])  # started and warm
        calls_before = len(telegram.calls)
        cpu_before = processes.cpu_seconds(process.pid)
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(walk(telegram.patient(FIRST_PATIENT + n), latencies) for n in range(patients))
        )
        seconds = time.perf_counter() - started
        rss = processes.peak_rss_mb(process.pid)
        cpu = processes.cpu_seconds(process.pid) - cpu_before
        calls = len(telegram.calls) - calls_before
    finally:
        await processes.stop(process)
        await telegram.stop()
    return Result(len(latencies), seconds, latencies, calls, rss, cpu)


async def mid_survey(patients: int, delay: float, workdir: Path) -> tuple[float, float]:
    """Seconds for `patients` mid-survey to have their taps answered, and peak RSS (MB)."""
    db = workdir / "mid_survey.db"
    database = await Database.open(db)
    try:
        # Setting up only: the bot itself runs with full durability.
        await database.connection.run(text("PRAGMA synchronous = OFF"))
        store = SqliteResponseStore(database)
        now = datetime.now(UTC)
        responses = []
        for n in range(patients):
            patient = await store.add_patient(FIRST_PATIENT + n, now, "en")
            response = await store.start_response(patient.id, "post_visit", now)
            await store.mark_asked(response.id, "treatment", 1)
            responses.append(response.id)
    finally:
        await database.close()
    telegram = FakeTelegram(call_delay=delay)
    await telegram.start()
    process = await processes.start_bot(telegram, db, workdir / "mid_survey.log")
    try:
        await walk(telegram.patient(FIRST_PATIENT - 1), [])
        started = time.perf_counter()
        people = [telegram.patient(FIRST_PATIENT + n) for n in range(patients)]
        question = SentMessage(1, 0, "Which treatment did you have?", None, None)
        for person, response_id in zip(people, responses, strict=True):
            await person.press(question, f"a:{response_id}:treatment:filler", wait=False)
        for person in people:
            await telegram.wait_for_messages(person.chat_id, 0, REPLY_TIMEOUT)
        seconds = time.perf_counter() - started
        rss = processes.peak_rss_mb(process.pid)
    finally:
        await processes.stop(process)
        await telegram.stop()
    return seconds, rss


WEBHOOK_SECRET = "the-benchmarks-webhook-secret-0123456789"  # noqa: S105 - the fake's, not a secret


async def measure_workers(
    workers: int, patients: int, delay: float, workdir: Path, server: str
) -> Result:
    """The patients against `workers` webhook workers sharing a new PostgreSQL database."""
    name = f"feedback_load_{os.getpid()}_{workers}"
    async with processes.new_postgresql_database(server, name) as address:
        return await _measure_workers(workers, patients, delay, workdir, address)


async def _measure_workers(
    workers: int, patients: int, delay: float, workdir: Path, address: str
) -> Result:
    telegram = FakeTelegram(call_delay=delay)
    await telegram.start()
    listens = [f"127.0.0.1:{processes.free_port()}" for _ in range(workers)]
    telegram.webhook_workers = tuple(listens)
    started_processes = []
    try:
        for number, listen in enumerate(listens):
            started_processes.append(
                await processes.start_bot(
                    telegram,
                    address,
                    workdir / f"pg{workers}-{number}.log",
                    webhook_url="https://feedback.example-clinic.org/telegram",
                    webhook_secret=WEBHOOK_SECRET,
                    webhook_listen=listen,
                )
            )
        await walk(telegram.patient(FIRST_PATIENT - 1), [])  # started and warm
        calls_before = len(telegram.calls)
        cpu_before = sum(processes.cpu_seconds(p.pid) for p in started_processes)
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(walk(telegram.patient(FIRST_PATIENT + n), latencies) for n in range(patients))
        )
        seconds = time.perf_counter() - started
        rss = max(processes.peak_rss_mb(p.pid) for p in started_processes)
        cpu = sum(processes.cpu_seconds(p.pid) for p in started_processes) - cpu_before
        calls = len(telegram.calls) - calls_before
    finally:
        for process in started_processes:
            await processes.stop(process)
        await telegram.stop()
    return Result(len(latencies), seconds, latencies, calls, rss, cpu)


def report_workers(sqlite: Result, one: Result, three: Result) -> None:
    """SQLite's bot, then PostgreSQL with one and three workers, side by side."""
    print(f"{'':<34}{'SQLite, 1':>12}{'PG, 1':>12}{'PG, 3':>12}")
    results = (sqlite, one, three)
    rows = [
        ("steps a second", [f"{r.per_second:.1f}" for r in results]),
        ("tap to answer, median (s)", [f"{r.percentile(0.5):.2f}" for r in results]),
        ("tap to answer, 95th pct (s)", [f"{r.percentile(0.95):.2f}" for r in results]),
        ("workers' CPU a step (ms)", [f"{r.cpu_ms:.1f}" for r in results]),
    ]
    for label, figures in rows:
        print(f"{label:<34}" + "".join(f"{figure:>12}" for figure in figures))


def report(bot: Result, bare: Result) -> None:
    """The two side by side, with the targets."""
    print(f"{'':<34}{'feedback-bot':>14}{'bare PTB bot':>14}")
    rows = [
        ("steps a second", f"{bot.per_second:.1f}", f"{bare.per_second:.1f}"),
        ("tap to answer, median (s)", f"{bot.percentile(0.5):.2f}", f"{bare.percentile(0.5):.2f}"),
        (
            "tap to answer, 95th pct (s)",
            f"{bot.percentile(0.95):.2f}",
            f"{bare.percentile(0.95):.2f}",
        ),
        ("Bot API calls a step", f"{bot.calls / bot.steps:.2f}", f"{bare.calls / bare.steps:.2f}"),
        ("bot's CPU a step (ms)", f"{bot.cpu_ms:.1f}", f"{bare.cpu_ms:.1f}"),
        ("peak memory (MB)", f"{bot.peak_rss_mb:.0f}", f"{bare.peak_rss_mb:.0f}"),
    ]
    for label, ours, theirs in rows:
        print(f"{label:<34}{ours:>14}{theirs:>14}")
    speed = bot.per_second / bare.per_second
    tail = bot.percentile(0.95) / bare.percentile(0.95)
    print(f"steps a second: {speed:.2f} x the bare bot's (target >= 0.8)")
    print(f"95th percentile: {tail:.2f} x the bare bot's (target <= 2)")


async def main() -> None:
    """Measure both bots, then memory mid-survey."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--mid-survey", type=int, default=10_000)
    parser.add_argument("--postgresql", help="also measure 1 and 3 workers on this server")
    args = parser.parse_args()
    os.environ["PTB_TIMEDELTA"] = "true"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"{args.patients} patients at once, {args.delay * 1000:.0f} ms a Bot API call")
        bot = await measure(False, args.patients, args.delay, workdir)  # noqa: FBT003
        bare = await measure(True, args.patients, args.delay, workdir)  # noqa: FBT003
        report(bot, bare)
        if args.postgresql:
            one = await measure_workers(1, args.patients, args.delay, workdir, args.postgresql)
            three = await measure_workers(3, args.patients, args.delay, workdir, args.postgresql)
            report_workers(bot, one, three)
        if args.mid_survey:
            seconds, rss = await mid_survey(args.mid_survey, args.delay, workdir)
            print(
                f"{args.mid_survey} patients mid-survey, all tapping at once: answered in "
                f"{seconds:.0f} s, peak memory {rss:.0f} MB (target <= 150)"
            )


if __name__ == "__main__":
    asyncio.run(main())
