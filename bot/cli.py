"""The `feedback-bot` command: run, check-config, summary, export."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from bot.app import run
from bot.domain.export import csv_header, csv_row, response_record
from bot.domain.models import Period
from bot.domain.surveys import SurveyFileError, load_catalog
from bot.logs import configure_logging
from bot.services.ports import SystemClock
from bot.services.staff import ReportService
from bot.settings import ENV_PREFIX, Settings, SettingsError, load_settings
from handlers.texts import CATALOGUES
from handlers.texts.formatting import format_summary
from storage.database import Database
from storage.reports import SqliteReportStore

EXIT_CONFIG = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedback-bot",
        description="Patient feedback over Telegram for aesthetic clinics. "
        f"Settings come from {ENV_PREFIX}* environment variables or a .env file.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (long polling)")
    commands.add_parser("check-config", help="validate settings and surveys")
    summary = commands.add_parser("summary", help="print the same summary as /summary")
    summary.add_argument(
        "--period", choices=[p.value for p in Period], default=Period.DAYS_30.value
    )
    export = commands.add_parser("export", help="write all responses as CSV or JSON lines")
    export.add_argument("--format", choices=["csv", "jsonl"], required=True)
    export.add_argument(
        "--since", type=_since, help="only responses started on or after DATE (YYYY-MM-DD)"
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser


def _since(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use YYYY-MM-DD or an ISO-8601 time"
        ) from None
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        # A plain date means the start of that day, in UTC like every stored time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `feedback-bot` console command."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(exc.problems)
        return EXIT_CONFIG
    if args.command == "check-config":
        return _check_config(settings)
    if args.command == "run":
        try:
            token = settings.token()
            load_catalog(settings.surveys)
        except (SettingsError, SurveyFileError) as exc:
            _fail(exc.problems if isinstance(exc, SettingsError) else [str(exc)])
            return EXIT_CONFIG
        configure_logging(settings.log_level, [token])
        run(settings)
        return 0
    if not settings.db.exists():
        _fail([f"{ENV_PREFIX}DB: no database at {settings.db} (the bot creates it on first run)"])
        return EXIT_CONFIG
    if args.command == "summary":
        print(asyncio.run(_summary(settings, Period(args.period))))
        return 0
    out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        asyncio.run(_export(settings, args.format, args.since, out))
    finally:
        if args.out:
            out.close()
    return 0


def _fail(problems: list[str]) -> None:
    print("feedback-bot: configuration problem:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def _check_config(settings: Settings) -> int:
    problems = []
    notes = []
    if settings.bot_token is None:
        problems.append(f"{ENV_PREFIX}BOT_TOKEN: required to run the bot")
    try:
        catalog = load_catalog(settings.surveys)
        notes.append(
            f"surveys: {', '.join(s.id for s in catalog.surveys)} "
            f"({settings.surveys or 'built-in'})"
        )
    except SurveyFileError as exc:
        problems.append(f"{ENV_PREFIX}SURVEYS: {exc}")
    folder = settings.db.resolve().parent
    if not folder.is_dir():
        problems.append(f"{ENV_PREFIX}DB: folder {folder} does not exist")
    if settings.staff_chat is None:
        notes.append(f"{ENV_PREFIX}STAFF_CHAT is not set: staff alerts are off")
    if not settings.admins:
        notes.append(f"{ENV_PREFIX}ADMINS is empty: nobody can use staff commands")
    if problems:
        _fail(problems)
        return EXIT_CONFIG
    print("configuration OK")
    for note in notes:
        print(f"  - {note}")
    return 0


async def _reports(settings: Settings) -> tuple[Database, ReportService]:
    database = await Database.open(settings.db)
    return database, ReportService(SqliteReportStore(database), SystemClock())


async def _summary(settings: Settings, period: Period) -> str:
    database, reports = await _reports(settings)
    try:
        language = load_catalog(settings.surveys).default_language
        texts = CATALOGUES.get(language, CATALOGUES["en"])
        return format_summary(await reports.summary(period), texts, markup=False)
    finally:
        await database.close()


async def _export(
    settings: Settings, fmt: str, since: datetime | date | None, out: TextIO
) -> None:
    database, reports = await _reports(settings)
    try:
        after = since if isinstance(since, datetime) else None
        if fmt == "jsonl":
            async for response in reports.responses(after):
                out.write(json.dumps(response_record(response), ensure_ascii=False) + "\n")
            return
        columns = await reports.export_columns(load_catalog(settings.surveys))
        writer = csv.writer(out)
        writer.writerow(csv_header(columns))
        async for response in reports.responses(after):
            writer.writerow(csv_row(response, columns))
    finally:
        await database.close()
