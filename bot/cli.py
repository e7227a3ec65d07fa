"""The `feedback-bot` command line: its arguments, read without loading the bot.

`feedback-bot --help` must answer at once; what each command does is in `bot.commands`,
imported only once the arguments are read.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.domain.periods import Period
from bot.domain.trend import TrendPeriod
from bot.env import ENV_PREFIX


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedback-bot",
        description="Patient feedback over Telegram for aesthetic clinics. "
        f"Settings come from {ENV_PREFIX}* environment variables or a .env file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (long polling)")
    check = commands.add_parser("check-config", help="validate settings and surveys")
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask Telegram: is the token valid, may the bot post in the staff chat",
    )
    summary = commands.add_parser("summary", help="print the same summary as /summary")
    summary.add_argument(
        "--period", choices=[p.value for p in Period], default=Period.DAYS_30.value
    )
    trend = commands.add_parser("trend", help="write the same chart as /trend (PNG)")
    trend.add_argument(
        "--period", choices=[p.value for p in TrendPeriod], default=TrendPeriod.WEEKS_12.value
    )
    trend.add_argument("--out", type=_png_file, required=True, help="PNG file to write")
    export = commands.add_parser("export", help="write all responses as CSV or JSON lines")
    export.add_argument("--format", choices=["csv", "jsonl"], required=True)
    export.add_argument(
        "--since", type=_since, help="only responses started on or after DATE (YYYY-MM-DD)"
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument(
        "--excel",
        action="store_true",
        help="CSV for Excel: starts with a byte-order mark, so accents open right",
    )
    backup = commands.add_parser(
        "backup", help="copy the live database to FILE, safely, while the bot runs"
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the new backup (must not exist)")
    copy_db = commands.add_parser(
        "copy-db",
        help="copy the SQLite database into an empty PostgreSQL database",
        description="Moves a clinic from its SQLite file (FEEDBACK_DB) to PostgreSQL: every "
        "row, in one transaction, with the row counts checked. Stop the bot first.",
    )
    copy_db.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the new, empty PostgreSQL database: postgresql://user:password@host/name",
    )
    commands.add_parser(
        "encrypt-db",
        help="encrypt the SQLite database in place with the key in FEEDBACK_DB_KEY_FILE",
        description="Encrypts FEEDBACK_DB (SQLCipher, AES-256) with the key in "
        "FEEDBACK_DB_KEY_FILE, writing a new random key there first if the file does not "
        "exist. Stop the bot first. A crash midway leaves the original as it was.",
    )
    audit = commands.add_parser(
        "audit",
        help="list who looked at or did what with patients' data; 'audit verify' checks it",
        description="Lists the audit trail's entries, oldest first. 'feedback-bot audit "
        "verify' checks that none was changed, deleted or inserted (exit 1 naming the first).",
    )
    audit.add_argument("check", nargs="?", choices=["verify"], help="check the chain of hashes")
    audit.add_argument("--since", type=_since, help="entries from DATE (YYYY-MM-DD) on")
    audit.add_argument("--actor", help="one person's entries: a Telegram user id")
    audit.add_argument("--format", choices=["text", "csv"], default="text")
    commands.add_parser(
        "set-webhook",
        help="tell Telegram the webhook address (FEEDBACK_WEBHOOK_URL) once, for every worker",
    )
    invite = commands.add_parser(
        "invite",
        help="create single-use visit links (and QR codes)",
        description="One visit from the options, or a day's visits from --csv "
        "(columns: treatment, provider, and optionally location, date, survey).",
    )
    invite.add_argument("--treatment")
    invite.add_argument("--provider")
    invite.add_argument("--location")
    invite.add_argument("--date", type=_visit_date, help="visit date, YYYY-MM-DD")
    invite.add_argument("--survey", help="survey id (default: the default survey)")
    invite.add_argument("--qr", type=_qr_file, help="write the QR code to this .png or .svg file")
    invite.add_argument("--csv", type=Path, help="a booking system's visits, one per row")
    invite.add_argument("--qr-dir", type=Path, help="with --csv: a QR code file per row here")
    invite.add_argument("--out", type=Path, help="with --csv: the links CSV (default: stdout)")
    followups = commands.add_parser(
        "followups", help="list follow-ups: scheduled, sent, answered, expired..."
    )
    followups.add_argument("--limit", type=_positive, default=50, help="rows to list (default 50)")
    visits = commands.add_parser(
        "visits", help="list visits the booking system announced, and what became of each"
    )
    visits.add_argument("--limit", type=_positive, default=50, help="rows to list (default 50)")
    sentiment = commands.add_parser(
        "sentiment", help="score texts as the bot does: one JSON object a line"
    )
    sentiment.add_argument("texts", nargs="*", metavar="TEXT")
    sentiment.add_argument("--file", type=Path, help="texts to score, one a line")
    sentiment.add_argument(
        "--lang",
        choices=("en", "es"),
        help="the patient's language, for texts too short to tell (default: from the text)",
    )
    demo = commands.add_parser("demo", help="try the surveys in this terminal, without Telegram")
    demo.add_argument("--survey", help="survey id to try (default: the default survey)")
    demo.add_argument("--lang", default="en", help="the patient's language, e.g. en or es")
    demo.add_argument("--db", type=Path, help="keep the answers in this database")
    return parser


def _version() -> str:
    try:
        return version("medspa-feedback-bot")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return number


def _qr_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in (".png", ".svg"):
        raise argparse.ArgumentTypeError(f"{text!r}: a QR code is written as .png or .svg")
    return path


def _png_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text!r}: the chart is a PNG image; name it .png")
    return path


def _visit_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


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


# 128 + SIGPIPE: what a shell reports for `cat` when the reader closed the pipe.
EXIT_PIPE_CLOSED = 141


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `feedback-bot` console command."""
    # PTB 22 warns on every 429 (even inside its own RetryAfter) unless time periods are
    # opted in as timedeltas; our code reads them either way.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # Everything the bot writes (the database, exports, QR codes) is its user's alone.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    try:
        from bot.commands import dispatch  # noqa: PLC0415 - loads the bot, not for --help

        return dispatch(args)
    except BrokenPipeError:
        # The reader went away (`feedback-bot export | head`): end quietly, as `cat` does,
        # with the status a process ended by SIGPIPE has, so `set -o pipefail` still sees
        # that the output was cut short. Standard output goes to /dev/null first, or Python
        # would print a traceback when it flushes it at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        sys.stderr.write("feedback-bot: interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line, no traceback with patient data
        sys.stderr.write(f"feedback-bot: unexpected error ({type(exc).__name__})\n")
        return 1
