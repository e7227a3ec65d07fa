"""How fast the staff console answers on years of data, beside `/summary`'s own figure.

Seeds the same database as `summary_speed.py` (one million answers by default, three years,
each response with a visit), adds a case for every response with a CSAT of 1 in the last
90 days (a few hundred resolved), then serves the console's API with the bot's own code
(`handlers.console.Console` on aiohttp, signed in as an admin with launch data signed as
Telegram does) and times each call over HTTP, median of `--repeat`. In the same run it times
the summary the chat's `/summary` computes, through `ReportService`, as the reference.
Target: every call ≤ 100 ms median. With `--browser`, also the page's first render in
headless Chromium (target ≤ 1 s), as the page itself measures it.

    python benchmarks/console_speed.py [--answers 1000000] [--repeat 7] [--browser]
        [--postgresql postgresql://postgres@127.0.0.1:5432/test] [--database seeded.db]

Prints figures; asserts only that every call answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import processes
from aiohttp import ClientSession, web
from summary_speed import CATALOG, NOW, SCORES, create_schema, seed

from bot.domain.periods import Period
from bot.domain.roles import Roster
from bot.domain.schedule import SendHours
from bot.services.audit import AuditService
from bot.services.cases import CaseService
from bot.services.staff import ReportService
from handlers.console import CaseWaking, Console, ConsoleAccess
from handlers.texts import CATALOGUES
from storage.alerts import SqliteAlertStore
from storage.audit import SqliteAuditTrail
from storage.cases import SqliteCaseStore
from storage.copy import copy_database
from storage.database import Database, to_db_time
from storage.reports import SqliteReportStore
from tests.console_launch import signed_launch

TOKEN = "123456:benchmark-token"  # noqa: S105 - a made-up bot's
ADMIN = 777
TARGET_MS = 100
TARGET_FIRST_RENDER_MS = 1000
CALLS = [
    "overview?period=7d",
    "overview?period=30d",
    "overview?period=90d",
    "overview?period=all",
    "trend?span=12w",
    "trend?span=12m",
    "cases",
    "cases/{case}",
    "comments",
    "comments?period=30d&sentiment=negative",
    "comments?q=rude+wait",
    "comments?q=nowhere",
    "comments?provider=Dr+Li&treatment=filler&page=3",
    "filters",
    "breakdowns?period=7d",
    "breakdowns?period=30d",
    "breakdowns?period=90d",
    "breakdowns?period=all",
]


class FixedClock:
    """The seeded data's now."""

    def now(self) -> Any:  # noqa: ANN401 - a datetime
        """The moment `summary_speed.py`'s answers end."""
        return NOW


def add_cases(path: Path) -> int:
    """A case for every response rated CSAT 1 in the last 90 days; the older half resolved."""
    connection = sqlite3.connect(path)
    since = to_db_time(NOW - timedelta(days=90))
    with connection:
        rows = connection.execute(
            "SELECT r.id, r.started_at FROM responses r JOIN answers a ON a.response_id = r.id"
            " WHERE a.question_id = 'csat' AND a.value_int = 1 AND r.started_at >= ?"
            " ORDER BY r.started_at",
            (since,),
        ).fetchall()
        for n, (response_id, started) in enumerate(rows):
            resolved = n < len(rows) // 2
            connection.execute(
                "INSERT INTO alerts (response_id, reasons, created_at, case_opened_at,"
                " delivered_version, claimed_by_name, resolved_by_name, resolved_at)"
                " VALUES (?, 'low_csat', ?, ?, 1, ?, ?, ?)",
                (
                    response_id,
                    started,
                    started,
                    "Dana" if resolved else None,
                    "Dana" if resolved else None,
                    started if resolved else None,
                ),
            )
    connection.close()
    return len(rows)


async def measure(location: Path | str, repeat: int, *, browser: bool) -> None:
    """Serve the console over the database and time each call beside the summary."""
    database = await Database.open(location)
    reports = ReportService(SqliteReportStore(database), FixedClock(), SCORES)
    await reports.prepare()
    # Every console call adds an audit entry, as the bot's does.
    audit = AuditService(SqliteAuditTrail(database), FixedClock())
    cases = CaseService(
        SqliteCaseStore(database),
        FixedClock(),
        records=SqliteAlertStore(database),
        escalate_after=timedelta(hours=4),
        send_hours=SendHours.parse("00:00-23:59", "UTC"),
        audit=audit,
    )
    console = Console(
        ConsoleAccess(TOKEN, Roster(frozenset({ADMIN})), timedelta(hours=24)),
        reports,
        cases,
        CATALOG,
        CATALOGUES["en"],
        audit=audit,
        waking=CaseWaking(alert_changed=lambda: None, patient_owed=lambda: None),
        clinic_name="Benchmark Clinic",
        timezone="UTC",
    )
    app = web.Application()
    console.add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    launch = signed_launch(TOKEN, {"id": ADMIN, "first_name": "Dana"}, NOW)
    base = f"http://127.0.0.1:{port}/console/"
    try:
        summary_ms = []
        for _ in range(repeat):
            started = time.perf_counter()
            await reports.summary(Period.DAYS_30)
            summary_ms.append((time.perf_counter() - started) * 1000)
        reference = statistics.median(summary_ms)
        print(f"{'/summary 30d (the reference, no HTTP)':<52}{reference:>8.1f} ms")
        async with ClientSession(headers={"Authorization": f"tma {launch}"}) as session:
            async with session.get(base + "api/cases") as reply:
                listed = (await reply.json())["cases"]
            case = listed[0]["id"] if listed else 0
            slowest = 0.0
            for call in CALLS:
                path = "api/" + call.format(case=case)
                timings = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    async with session.get(base + path) as reply:
                        await reply.read()
                        if reply.status != 200:
                            raise AssertionError(f"{path}: {reply.status}")
                    timings.append((time.perf_counter() - started) * 1000)
                median = statistics.median(timings)
                slowest = max(slowest, median)
                print(f"{'GET /console/' + path:<52}{median:>8.1f} ms")
        verdict = "holds" if slowest <= TARGET_MS else "is NOT met"
        print(f"slowest call: {slowest:.1f} ms median; the target (<= {TARGET_MS} ms) {verdict}")
        if browser:
            await first_render(base, launch)
    finally:
        await runner.cleanup()
        await database.close()


async def first_render(base: str, launch: str) -> None:
    """The page's first render in headless Chromium, as the page measures it."""
    from tests.browser import Browser  # noqa: PLC0415 - only with --browser

    opened = Browser()
    try:
        renders = []
        for _ in range(3):
            await opened.open("about:blank")  # a new page each time, not the same one again
            await opened.open(f"{base}#tgWebAppData={quote(launch, safe='')}")
            await opened.wait_for("document.body.dataset.ready === 'overview'", timeout=60)
            renders.append(float(await opened.script("return window.consoleFirstRenderMs;")))
        median = statistics.median(renders)
        verdict = "holds" if median <= TARGET_FIRST_RENDER_MS else "is NOT met"
        print(
            f"first render: {', '.join(f'{r:.0f}' for r in renders)} ms; the target "
            f"(<= {TARGET_FIRST_RENDER_MS} ms) {verdict}"
        )
    finally:
        opened.close()


async def on_postgresql(path: Path, server: str, repeat: int) -> None:
    """Copy the seeded file into a new PostgreSQL database and measure there."""
    name = f"feedback_console_bench_{os.getpid()}"
    async with processes.new_postgresql_database(server, name) as address:
        target = await Database.open(address)
        try:
            await copy_database(path, target)
        finally:
            await target.close()
        print("on PostgreSQL:")
        await measure(address, repeat, browser=False)


def main() -> None:
    """Seed a temporary database and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--postgresql", help="also measure on a new database on this server")
    parser.add_argument(
        "--database", type=Path, help="seed this file once and measure it again on later runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.database or Path(folder) / "bench.db"
        if path.exists():
            print(f"measuring {path} as seeded before")
        else:
            asyncio.run(create_schema(path))
            seed(path, args.answers)
            cases = add_cases(path)
            print(f"seeded {args.answers:,} answers and {cases} cases")
        if args.postgresql:
            asyncio.run(on_postgresql(path, args.postgresql, args.repeat))
        print("on SQLite:")
        asyncio.run(measure(path, args.repeat, browser=args.browser))


if __name__ == "__main__":
    main()
