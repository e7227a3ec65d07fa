"""What each `feedback-bot` command does (the parser, which loads none of this, is in cli)."""

from __future__ import annotations

import argparse
import asyncio
import codecs
import csv
import getpass
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from telegram import Bot, ChatMemberRestricted
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from bot.app import (
    build_application,
    clock_for,
    invitation_service,
    network_problem,
    register_webhook,
    run,
    webhook_config,
)
from bot.demo import run_demo
from bot.domain.audit import Actor, AuditAction, ChainBreak, StoredEntry
from bot.domain.models import AlertDetail, FollowupStatus, Visit
from bot.domain.periods import Period
from bot.domain.surveys import QuestionRole, SurveyCatalog, SurveyFileError, load_catalog
from bot.domain.trend import TrendPeriod
from bot.env import ENV_PREFIX
from bot.keyfile import new_key_file
from bot.logs import configure_logging
from bot.qr import write_qr
from bot.sentiment import ClinicScorer, LexiconError, lexicons
from bot.services.audit import AuditService, audit_row, write_audit_csv
from bot.services.invitations import (
    InvitationService,
    UnknownTreatmentError,
    invitation_link,
)
from bot.services.staff import ReportService
from bot.settings import (
    DEFAULT_API_URL,
    PLACEHOLDER_TOKENS,
    Settings,
    SettingsError,
    load_settings,
)
from handlers.charts import trend_png
from handlers.intake_api import MINDBODY_PATH, VAGARO_PATH, VISITS_PATH
from handlers.mail import smtp_problem
from handlers.texts import CATALOGUES
from handlers.texts.formatting import format_summary
from handlers.webhook import ListenError, WebhookConfig
from storage import cipher
from storage.audit import SqliteAuditTrail
from storage.copy import CopyMismatchError, CopyReport, TargetNotEmptyError, copy_database
from storage.database import (
    POSTGRESQL_DRIVER_MISSING,
    Database,
    DatabaseUnavailableError,
    backup,
    encrypt_in_place,
    is_postgresql,
    postgresql_driver_installed,
    shown,
)
from storage.followups import SqliteFollowupStore
from storage.intake import SqliteVisitEvents
from storage.reports import SqliteReportStore
from storage.responses import SqliteResponseStore

EXIT_CONFIG = 1
# `feedback-bot run` when only a change of configuration can help (settings, the survey
# file, a token or webhook URL Telegram refuses): sysexits' EX_CONFIG, for systemd's
# RestartPreventExitStatus= (restarting would fail the same way every few seconds).
EXIT_FIX_CONFIG = 78


def dispatch(args: argparse.Namespace) -> int:
    """Load the settings and run the command the arguments name."""
    try:
        settings = load_settings()
        if args.command != "encrypt-db":  # which may write the key file first
            settings.db_key()
    except SettingsError as exc:
        _fail(exc.problems)
        return EXIT_FIX_CONFIG if args.command == "run" else EXIT_CONFIG
    command: Callable[[Settings, argparse.Namespace], int] = {
        "run": _run_command,
        "check-config": _check_config_command,
        "summary": _summary_command,
        "trend": _trend_command,
        "export": _export_command,
        "followups": _followups_command,
        "visits": _visits_command,
        "invite": _invite_command,
        "sentiment": _sentiment_command,
        "demo": _demo_command,
        "backup": _backup_command,
        "copy-db": _copy_db_command,
        "set-webhook": _set_webhook_command,
        "audit": _audit_command,
        "encrypt-db": _encrypt_db_command,
    }[args.command]
    try:
        return command(settings, args)
    except DatabaseUnavailableError as exc:
        return _refuse(f"{exc}; check {ENV_PREFIX}DB")
    except InvalidToken:
        return _refuse(f"Telegram rejected {ENV_PREFIX}BOT_TOKEN (check it in @BotFather)")
    except NetworkError as exc:
        return _refuse(f"cannot reach Telegram ({network_problem(exc)})")
    except OSError as exc:  # a file to read or write: missing folder, permissions, disk full
        if isinstance(exc, BrokenPipeError):
            raise  # the command line's, below `| head`: see cli.main
        where = f" {exc.filename}" if exc.filename else ""
        return _refuse(f"cannot use{where}: {exc.strerror or type(exc).__name__}")


def _refuse(reason: str) -> int:
    """One line saying why the command stopped or did nothing; the exit status for it.

    For bad input and what went wrong on the way, not for bad configuration (`_fail`).
    """
    print(f"feedback-bot: {reason}", file=sys.stderr)
    return EXIT_CONFIG


def _run_command(settings: Settings, _: argparse.Namespace) -> int:
    try:
        token = settings.token()
        load_catalog(settings.surveys)
        lexicons()
    except (SettingsError, SurveyFileError, LexiconError) as exc:
        _fail(exc.problems if isinstance(exc, SettingsError) else [str(exc)])
        return EXIT_FIX_CONFIG
    key = settings.db_key()
    configure_logging(settings.log_level, [token] if key is None else [token, key])
    try:
        stopped = run(settings)
    except ListenError as exc:  # the address is taken, or not this machine's
        return _refuse(f"cannot listen on {ENV_PREFIX}{exc.setting}={exc.address} ({exc.reason})")
    except DatabaseUnavailableError as exc:
        return _refuse(f"{exc}; check {ENV_PREFIX}DB")
    except BadRequest as exc:  # at start-up, only setWebhook sends what Telegram may refuse
        _refuse(f"Telegram refused the webhook URL: {exc.message}")
        return EXIT_FIX_CONFIG
    except InvalidToken:
        _refuse(f"Telegram rejected the bot token; check {ENV_PREFIX}BOT_TOKEN (from @BotFather)")
        return EXIT_FIX_CONFIG
    except NetworkError as exc:  # after FEEDBACK_STARTUP_WAIT_SECONDS of trying
        return _refuse(
            f"cannot reach Telegram at {ENV_PREFIX}API_URL ({network_problem(exc)}) after "
            f"{settings.startup_wait_seconds:.0f} s of trying; check the network, then start "
            "the bot again"
        )
    except TelegramError as exc:
        return _refuse(f"Telegram refused to start the bot ({type(exc).__name__})")
    print(f"feedback-bot: {stopped.line()}", file=sys.stderr)
    return stopped.exit_status


def _sentiment_command(settings: Settings, args: argparse.Namespace) -> int:
    texts = list(args.texts)
    if args.file is not None:
        try:
            texts += [line for line in args.file.read_text("utf-8").splitlines() if line.strip()]
        except OSError as exc:
            return _refuse(f"--file: cannot read {args.file}: {exc.strerror}")
    if not texts:
        print("feedback-bot sentiment: give TEXT arguments or --file", file=sys.stderr)
        return 2
    scorer = ClinicScorer(settings.sentiment_negative_below, settings.sentiment_positive_above)
    for text in texts:
        result = scorer.score(text, args.lang)
        record = {
            "text": text,
            "polarity": result.polarity,
            "label": result.label.value,
            "topics": list(result.topics),
            "reasons": list(result.reasons),
        }
        print(json.dumps(record, ensure_ascii=False))
    return 0


def _has_database(settings: Settings) -> bool:
    # A PostgreSQL database is the server's to have; opening it says if it is not there.
    if not isinstance(settings.db, Path) or settings.db.exists():
        return True
    # Never create an empty one: a command run in the wrong folder would work on it unseen.
    missing = (
        f"{ENV_PREFIX}DB: no database at {settings.db.resolve()}; run this in the bot's "
        f"folder (where its .env is, as its user), or set {ENV_PREFIX}DB (the bot creates "
        "the database when it first runs)"
    )
    _fail([missing])
    return False


def _summary_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    print(asyncio.run(_summary(settings, Period(args.period))))
    return 0


def _trend_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    png = asyncio.run(_trend(settings, TrendPeriod(args.period)))
    args.out.write_bytes(png)
    print(f"wrote {args.out}")
    return 0


def _followups_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    print(asyncio.run(_followups(settings, args.limit)))
    return 0


def _visits_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    print(asyncio.run(_visits(settings, args.limit)))
    return 0


def _export_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        asyncio.run(_export(settings, args.format, args.since, out, excel=args.excel))
    finally:
        if args.out:
            out.close()
    return 0


def _backup_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    if not isinstance(settings.db, Path):
        return _refuse(
            "backup copies a SQLite file; back up PostgreSQL with pg_dump "
            "(docs/operator/postgresql.md)"
        )
    # A dated file in a backups/ folder is the usual cron line: a first run makes the folder
    # (its owner's alone, like the backups) rather than fail unseen.
    folder = args.file.parent
    if folder.exists() and not folder.is_dir():
        return _refuse(f"{folder} is a file, not a folder; back up into a folder")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    unusable = cipher.database_errors()
    try:
        copy = backup(settings.db, args.file, key=settings.db_key())
    except FileExistsError:
        return _refuse(f"{args.file} already exists; back up to a new file")
    except unusable as exc:
        return _refuse(f"cannot back up {settings.db}: {exc}")
    print(
        f"backed up {settings.db} to {copy.path}: {copy.responses} responses, "
        f"{copy.size / 1_000_000:.1f} MB, integrity ok"
    )
    detail = f"to {copy.path}, {copy.responses} responses"
    asyncio.run(_audited_at(settings, settings.db, AuditAction.BACKUP, detail))
    return 0


def _copy_db_command(settings: Settings, args: argparse.Namespace) -> int:
    if not is_postgresql(args.to):
        return _refuse("--to must be a postgresql://user@host/database address")
    if not isinstance(settings.db, Path):
        return _refuse(f"{ENV_PREFIX}DB must be the SQLite file to copy from")
    if not _has_database(settings):
        return EXIT_CONFIG
    try:
        report = asyncio.run(_copy_db(settings.db, args.to, settings.db_key()))
    except TargetNotEmptyError as exc:
        return _refuse(f"{exc}; copy into a new, empty database (nothing was copied)")
    except CopyMismatchError as exc:
        return _refuse(f"{exc} (nothing was kept)")
    except DatabaseUnavailableError as exc:  # the file to copy, or the target
        where = "--to" if is_postgresql(str(exc.path)) else f"{ENV_PREFIX}DB"
        return _refuse(f"{exc}; check {where}")
    rows = ", ".join(f"{count} {table}" for table, count in report.rows.items() if count)
    # Recorded where the clinic now lives (its trail came along with the rows).
    detail = f"from {settings.db}, {report.rows.get('responses', 0)} responses"
    asyncio.run(_audited_at(settings, args.to, AuditAction.COPY_DB, detail))
    print(f"copied {settings.db} to {shown(args.to)}: {rows or 'no rows'}; row counts match")
    print(f"now set {ENV_PREFIX}DB={shown(args.to)} (with its password) and start the bot")
    return 0


async def _copy_db(source: Path, target: str, key: str | None) -> CopyReport:
    # Open (and so migrate) the source first: both schemas are then the newest.
    database = await Database.open(source, key=key)
    await database.close()
    postgresql = await Database.open(target)
    try:
        return await copy_database(source, postgresql, key=key)
    finally:
        await postgresql.close()


def _set_webhook_command(settings: Settings, _: argparse.Namespace) -> int:
    config = webhook_config(settings)
    if config is None:
        _fail([f"{ENV_PREFIX}WEBHOOK_URL and {ENV_PREFIX}WEBHOOK_SECRET must both be set"])
        return EXIT_CONFIG
    asyncio.run(_set_webhook(settings, config))
    print(f"Telegram now delivers updates to {config.url}")
    return 0


async def _set_webhook(settings: Settings, config: WebhookConfig) -> None:
    application = build_application(settings)
    async with application.bot:
        await register_webhook(application, config)


def _not_to_encrypt(settings: Settings) -> str | None:
    """Why encrypt-db cannot run with these settings, if it cannot."""
    if settings.db_key_file is None:
        return f"set {ENV_PREFIX}DB_KEY_FILE to where the key is, or is to be written"
    if not isinstance(settings.db, Path):
        return "encrypt-db encrypts a SQLite file; encrypt PostgreSQL's volume instead"
    if not settings.db.is_file():
        return f"{settings.db} does not exist; check {ENV_PREFIX}DB"
    if cipher.is_encrypted(settings.db):
        return f"{settings.db} is encrypted already (or is not a SQLite database)"
    return None


def _encrypt_db_command(settings: Settings, _: argparse.Namespace) -> int:
    refusal = _not_to_encrypt(settings)
    if refusal is not None:
        return _refuse(refusal)
    if settings.db_key_file is None or not isinstance(settings.db, Path):  # pragma: no cover
        return EXIT_CONFIG
    made = not settings.db_key_file.exists()
    try:
        key = new_key_file(settings.db_key_file) if made else settings.db_key()
    except OSError as exc:
        return _refuse(f"cannot write the key to {settings.db_key_file}: {exc.strerror}")
    except SettingsError as exc:  # a key file that is there but not a key, or not private
        _fail(exc.problems)
        return EXIT_CONFIG
    if key is None:  # pragma: no cover - the key file is set
        return EXIT_CONFIG
    unusable = cipher.database_errors()
    try:
        responses = encrypt_in_place(settings.db, key)
    except cipher.SQLCipherMissingError as exc:
        return _refuse(str(exc))
    except unusable as exc:
        if "locked" in str(exc):
            return _refuse(f"{settings.db} is open in another program: stop the bot first")
        return _refuse(f"cannot encrypt {settings.db}: {exc} (the file is as it was)")
    if made:
        print(
            f"wrote a new key to {settings.db_key_file} (readable by you alone): keep a copy "
            "apart from the database and its backups; without it nothing can be read"
        )
    print(f"encrypted {settings.db}: {responses} responses, integrity ok")
    return 0


def _audit_command(settings: Settings, args: argparse.Namespace) -> int:
    if not _has_database(settings):
        return EXIT_CONFIG
    if args.check == "verify":
        checked, broken, head = asyncio.run(_verify_audit(settings))
        if broken is not None:
            print(
                f"audit trail broken at entry {broken.number}: changed, deleted or inserted "
                f"there or just before ({checked} entries before it hold)",
                file=sys.stderr,
            )
            return 1
        print(f"audit trail holds: {checked} entries, head {head}")
        return 0
    entries = asyncio.run(_audit_entries(settings, args.since, args.actor))
    if args.format == "csv":
        write_audit_csv(entries, sys.stdout)
    else:
        for stored in entries:
            # The hash is for the CSV, to compare with the heads posted to the staff chat.
            print("  ".join(cell for cell in audit_row(stored)[:-1] if cell))
    return 0


async def _audit_entries(
    settings: Settings, since: datetime | None, actor: str | None
) -> list[StoredEntry]:
    database = await _open(settings)
    try:
        return await _audit_service(database, settings).entries(since, actor)
    finally:
        await database.close()


async def _verify_audit(settings: Settings) -> tuple[int, ChainBreak | None, str]:
    database = await _open(settings)
    try:
        checked, broken = await _audit_service(database, settings).verify()
        return checked, broken, await SqliteAuditTrail(database).head()
    finally:
        await database.close()


def _audit_service(database: Database, settings: Settings) -> AuditService:
    return AuditService(
        SqliteAuditTrail(database),
        clock_for(settings),
        kept=timedelta(days=settings.audit_retention_days),
        zone=ZoneInfo(settings.timezone),
    )


async def _audited(
    database: Database, settings: Settings, action: AuditAction, detail: str
) -> None:
    """Record what someone at the command line read or did (who: their OS user)."""
    actor = Actor(os_user=getpass.getuser())
    await _audit_service(database, settings).record(actor, action, detail=detail)


async def _open(settings: Settings) -> Database:
    """The clinic's database, with its key if it is encrypted."""
    return await Database.open(settings.db, key=settings.db_key())


async def _audited_at(
    settings: Settings, location: Path | str, action: AuditAction, detail: str
) -> None:
    key = settings.db_key() if location == settings.db else None
    database = await Database.open(location, key=key)
    try:
        await _audited(database, settings, action, detail)
    finally:
        await database.close()


def _fail(problems: list[str]) -> None:
    print("feedback-bot: configuration problem:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def _protection(settings: Settings) -> list[str]:
    """How patients' data is kept: who may do what, what the group reads, the file."""
    roster = settings.roster()
    notes = [f"team: {len(roster.admins)} admins, {len(roster.staff)} staff"]
    if settings.alert_detail is AlertDetail.MINIMAL:
        notes.append("staff alerts: minimal (patients' words and numbers behind Details)")
    elif settings.staff_chat is not None:
        notes.append(
            "staff alerts: full (the staff group reads patients' words; "
            f"{ENV_PREFIX}ALERT_DETAIL=minimal keeps them out)"
        )
    if settings.db_key_file is not None:
        notes.append(f"database file: encrypted, key in {settings.db_key_file}")
    elif isinstance(settings.db, Path):
        notes.append(
            f"database file: not encrypted ({ENV_PREFIX}DB_KEY_FILE, docs/operator/encryption.md)"
        )
    return notes


def _check_config_command(settings: Settings, args: argparse.Namespace) -> int:
    problems = []
    notes = []
    problems += _token_problems(settings)
    catalog = None
    try:
        catalog = load_catalog(settings.surveys)
        notes.append(
            f"surveys: {', '.join(s.id for s in catalog.surveys)} "
            f"({settings.surveys or 'built-in'})"
        )
    except SurveyFileError as exc:
        problems.append(f"{ENV_PREFIX}SURVEYS: {exc}")
    try:
        read = lexicons()
        notes.append(f"sentiment lexicons: {', '.join(read)}")
    except LexiconError as exc:
        problems.append(f"sentiment lexicon: {exc}")
    problems += _database_problems(settings)
    problems += _webhook_port_problems(settings)
    if settings.clinic_name is None:
        notes.append(
            f"{ENV_PREFIX}CLINIC_NAME is not set: patients read “our clinic” (“nuestra "
            "clínica” in Spanish) where your clinic's name would be"
        )
    if settings.staff_chat is None:
        notes.append(f"{ENV_PREFIX}STAFF_CHAT is not set: staff alerts are off")
    if not settings.admins:
        notes.append(f"{ENV_PREFIX}ADMINS is empty: nobody can use staff commands")
    notes += _protection(settings)
    if settings.surveys is not None:  # the built-in pre-visit survey has no score on purpose
        notes += _role_warnings(catalog)
    notes.append(_update_mode(settings))
    notes += _intake_api_mode(settings)
    if not problems and args.online:
        checked, refused = asyncio.run(_online_checks(settings))
        notes += checked
        problems += refused
    if problems:
        _fail(problems)
        return EXIT_CONFIG
    print("configuration OK" + (", and Telegram agrees" if args.online else ""))
    for note in notes:
        print(f"  - {note}")
    return 0


def _token_problems(settings: Settings) -> list[str]:
    if settings.bot_token is None:
        return [f"{ENV_PREFIX}BOT_TOKEN: required to run the bot"]
    if settings.bot_token.get_secret_value() in PLACEHOLDER_TOKENS:
        placeholder = (
            f"{ENV_PREFIX}BOT_TOKEN: still the placeholder from the documentation; put the token "
            "@BotFather gave you"
        )
        return [placeholder]
    return []


# The only ports Telegram delivers webhooks to (its setWebhook documentation).
WEBHOOK_PORTS = (443, 80, 88, 8443)


def _webhook_port_problems(settings: Settings) -> list[str]:
    url = settings.webhook_url
    if url is None or url.port in WEBHOOK_PORTS:
        return []
    ports = ", ".join(str(port) for port in WEBHOOK_PORTS)
    problem = (
        f"{ENV_PREFIX}WEBHOOK_URL: port {url.port}; Telegram calls webhooks only on {ports} "
        f"(your proxy may pass them on to {ENV_PREFIX}WEBHOOK_LISTEN)"
    )
    return [problem]


def _database_problems(settings: Settings) -> list[str]:
    if isinstance(settings.db, Path):
        folder = settings.db.resolve().parent
        return [] if folder.is_dir() else [f"{ENV_PREFIX}DB: folder {folder} does not exist"]
    if not postgresql_driver_installed():
        return [f"{ENV_PREFIX}DB: {POSTGRESQL_DRIVER_MISSING}"]
    return []


def _update_mode(settings: Settings) -> str:
    if settings.webhook_url is None:
        return "updates: long polling (no FEEDBACK_WEBHOOK_URL)"
    host, port = settings.listen_address()
    return (
        f"updates: webhook {settings.webhook_url}, listening on {host}:{port} "
        "(your proxy passes that path on; GET /healthz for health checks)"
    )


def _intake_origin(settings: Settings) -> str:
    if settings.webhook_url is not None:
        return f"{settings.webhook_url.scheme}://{settings.webhook_url.host}"
    host, port = settings.intake_address() or ("", 0)
    return f"http://{host}:{port}"


def _intake_api_mode(settings: Settings) -> list[str]:
    notes = []
    tokens = len(settings.api_tokens)
    callers = f"{tokens} token{'s' if tokens > 1 else ''}"
    served = (
        "served beside the webhook; your proxy passes that path on too"
        if settings.webhook_url is not None
        else "put TLS in front (a reverse proxy) before anything outside this machine calls it"
    )
    if tokens:
        notes.append(
            f"intake API: POST {_intake_origin(settings)}{VISITS_PATH} ({callers}), {served}"
        )
    else:
        notes.append(f"intake API: off (no {ENV_PREFIX}API_TOKENS)")
    if settings.mindbody_signature_key is not None:
        notes.append(
            f"Mindbody's webhook: {_intake_origin(settings)}{MINDBODY_PATH} (subscribe it to "
            "appointmentBooking.updated), " + served
        )
    if settings.vagaro_verification_token is not None:
        notes.append(
            f"Vagaro's webhook: {_intake_origin(settings)}{VAGARO_PATH} (create it for "
            "Appointments events), " + served
        )
    console = settings.console_url()
    if console is not None:
        notes.append(f"staff console: {console} (admins open it with /console)")
    elif settings.serves_http:
        notes.append(f"staff console: no https address for it (set {ENV_PREFIX}PUBLIC_URL)")
    else:
        notes.append("staff console: off (it needs webhook mode or FEEDBACK_HTTP_LISTEN)")
    smtp = settings.smtp_server()
    if smtp is None:
        notes.append(f"e-mail invitations: off (no {ENV_PREFIX}SMTP_URL)")
    else:
        security = "TLS" if smtp.implicit_tls else "STARTTLS when the server offers it"
        notes.append(
            f"e-mail invitations: from {settings.mail_from} through {smtp.host}:{smtp.port} "
            f"({security}); --online tries the login"
        )
    return notes


async def _online_checks(settings: Settings) -> tuple[list[str], list[str]]:
    """Ask Telegram whether the token is valid and the bot may post in the staff chat.

    And the SMTP server, if e-mail is set up, whether it takes the bot's connection.
    """
    checked, refused = await _telegram_checks(settings)
    smtp = settings.smtp_server()
    if smtp is not None:
        problem = await smtp_problem(smtp)
        if problem is None:
            checked.append(f"e-mail: {smtp.host}:{smtp.port} takes the bot's connection")
        else:
            refused.append(f"{ENV_PREFIX}SMTP_URL: {problem}")
    return checked, refused


async def _telegram_checks(settings: Settings) -> tuple[list[str], list[str]]:
    checked: list[str] = []
    try:
        async with Bot(settings.token(), base_url=str(settings.api_url)) as bot:
            checked.append(f"Telegram: the token is valid; the bot is @{bot.username}")
            if settings.staff_chat is None:
                return checked, []
            staff = await _staff_chat_check(bot, settings.staff_chat)
    except InvalidToken:
        return checked, [f"{ENV_PREFIX}BOT_TOKEN: Telegram rejected it (check it in @BotFather)"]
    except NetworkError as exc:
        problem = f"cannot reach Telegram ({network_problem(exc)})"
        if str(settings.api_url) == DEFAULT_API_URL:
            return checked, [f"{problem}: check this machine's network, DNS or firewall"]
        return checked, [f"{ENV_PREFIX}API_URL: {problem}; check the address and the network"]
    return ([*checked, staff], []) if staff.startswith("staff chat:") else (checked, [staff])


async def _staff_chat_check(bot: Bot, chat_id: int) -> str:
    """The line "staff chat: ..." if the bot may post there, else the problem, in a line."""
    name = f"{ENV_PREFIX}STAFF_CHAT={chat_id}"
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot.id)
    except BadRequest:
        return (
            f"{name}: Telegram knows no such chat for this bot; add the bot to the staff "
            "group, then send /chatid there to learn its id"
        )
    title = chat.title or chat_id
    if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return f"{name}: the bot is not in “{title}” any more; add it to the group again"
    if isinstance(member, ChatMemberRestricted) and not member.can_send_messages:
        return f"{name}: the bot may not post in “{title}”; let it send messages"
    return f"staff chat: “{title}”; the bot is in it ({member.status}) and may post there"


def _role_warnings(catalog: SurveyCatalog | None) -> list[str]:
    """A survey with neither a CSAT nor an NPS question can never raise a score alert."""
    if catalog is None:
        return []
    unscored = set(catalog.surveys_without(QuestionRole.CSAT))
    unscored &= set(catalog.surveys_without(QuestionRole.NPS))
    return [
        f"warning: survey {survey.id} has no CSAT or NPS question, so no score of it can "
        'alert staff (only its comments can); if it has one, declare it with role = "csat" '
        'or role = "nps"'
        for survey in catalog.surveys
        if survey.id in unscored
    ]


async def _reports(settings: Settings) -> tuple[Database, ReportService]:
    catalog = load_catalog(settings.surveys)
    database = await _open(settings)
    store = SqliteReportStore(database)
    scores = catalog.score_questions()
    zone = ZoneInfo(settings.timezone)
    service = ReportService(store, clock_for(settings), scores, catalog.followup_survey_ids, zone)
    return database, service


async def _summary(settings: Settings, period: Period) -> str:
    database, reports = await _reports(settings)
    try:
        catalog = load_catalog(settings.surveys)
        texts = CATALOGUES.get(catalog.default_language, CATALOGUES["en"])
        summary = await reports.summary(period)
        await _audited(database, settings, AuditAction.SUMMARY, f"period {period.value}")
        return format_summary(summary, texts, markup=False, surveys=catalog)
    finally:
        await database.close()


async def _trend(settings: Settings, period: TrendPeriod) -> bytes:
    database, reports = await _reports(settings)
    try:
        catalog = load_catalog(settings.surveys)
        texts = CATALOGUES.get(catalog.default_language, CATALOGUES["en"])
        return trend_png(await reports.trend(period), texts, settings.clinic_name)
    finally:
        await database.close()


async def _visits(settings: Settings, limit: int) -> str:
    database = await _open(settings)
    try:
        received, listing = await SqliteVisitEvents(database).recent(limit)
    finally:
        await database.close()
    if not received:
        return (
            "Visits from the booking system: none received yet (the intake API: "
            "docs/operator/intake.md)"
        )
    shown = f", the latest {len(listing)} listed" if len(listing) < received else ""
    lines = [f"Visits from the booking system: {received} received{shown}", ""]
    lines.append(
        f"{'received':<22} {'source':<8} {'event':<24} {'treatment':<18} {'visit':<10} "
        f"{'delivery':<9} state"
    )
    zone, now = ZoneInfo(settings.timezone), clock_for(settings).now()
    for record in listing:
        visit = record.invitation.visit
        # The clinic's clock, with its offset: what staff compare with the booking system.
        received_at = record.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
        day = visit.date.isoformat() if visit.date else "-"
        lines.append(
            f"{received_at:<22} {record.source:<8} {record.event_id:<24} "
            f"{visit.treatment or '-':<18} {day:<10} {record.delivery.value:<9} "
            + "; ".join(filter(None, (record.progress(now).value, record.mail_state())))
        )
    return "\n".join(lines)


async def _followups(settings: Settings, limit: int) -> str:
    database = await _open(settings)
    try:
        store = SqliteFollowupStore(database)
        counts, listing = await store.counts(), await store.listing(limit)
    finally:
        await database.close()
    lines = [
        "Follow-ups: "
        + ", ".join(f"{status.value} {counts.get(status, 0)}" for status in FollowupStatus)
    ]
    if listing:
        lines.append("")
        lines.append(f"{'due':<22} {'status':<10} {'survey':<16} {'patient':<11} treatment")
    zone = ZoneInfo(settings.timezone)
    for followup in listing:
        treatment = followup.visit.treatment if followup.visit else None
        # The clinic's clock, with its offset: what staff compare with their own.
        due = followup.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
        lines.append(
            f"{due:<22} {followup.status.value:<10} "
            f"{followup.survey_id:<16} {followup.patient_pseudonym:<11} {treatment or '-'}"
        )
    return "\n".join(lines)


async def _export(
    settings: Settings, fmt: str, since: datetime | date | None, out: TextIO, *, excel: bool
) -> None:
    database, reports = await _reports(settings)
    try:
        after = since if isinstance(since, datetime) else None
        if fmt == "jsonl":
            rows = await reports.write_jsonl(out, after)
        else:
            rows = await reports.write_csv(load_catalog(settings.surveys), out, after, excel=excel)
        start = f"since {after.isoformat()}" if after else "everything"
        await _audited(database, settings, AuditAction.EXPORT, f"{fmt}, {start}, {rows} rows")
    finally:
        await database.close()


@dataclass(frozen=True)
class _VisitRow:
    visit: Visit
    survey: str | None
    fields: dict[str, str]
    line: int | None = None
    """The row's line in the booking file (None for a visit given by options)."""


@dataclass(frozen=True, slots=True)
class _VisitsFile:
    """A booking system's visits, and how the file was written (the links CSV matches it)."""

    rows: list[_VisitRow]
    delimiter: str
    from_excel: bool
    """Windows-1252 or a BOM: Excel's; the links file then gets a BOM, so Excel reads it right."""


class _BookingRowsError(ValueError):
    """Every problem of a booking file, a line each, naming its row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _catalog(settings: Settings) -> SurveyCatalog | None:
    """The clinic's surveys, or `None` after saying what is wrong with the file."""
    try:
        return load_catalog(settings.surveys)
    except SurveyFileError as exc:
        _fail([f"{ENV_PREFIX}SURVEYS: {exc}"])
        return None


def _invite_command(settings: Settings, args: argparse.Namespace) -> int:
    catalog = _catalog(settings)
    if catalog is None:
        return EXIT_CONFIG
    visits = _visits_to_invite(args)
    if isinstance(visits, int):
        return visits
    if not _has_database(settings):
        return EXIT_CONFIG
    try:
        return asyncio.run(_invite(settings, catalog, visits, args))
    except _BookingRowsError as exc:  # every row is checked before any link is made
        return _refuse_rows(args.csv, exc.problems)
    except SettingsError as exc:
        _fail(exc.problems)
        return EXIT_CONFIG
    except NetworkError as exc:
        return _refuse(
            f"cannot ask Telegram for the bot's @username ({network_problem(exc)}); set "
            f"{ENV_PREFIX}BOT_USERNAME, or check the network"
        )


def _visits_to_invite(args: argparse.Namespace) -> _VisitsFile | int:
    """The visits the arguments name, or the exit status after saying what is wrong."""
    if args.csv is not None:
        try:
            return _read_visits(args.csv)
        except OSError as exc:
            return _refuse(f"cannot read {args.csv}: {exc.strerror}")
        except _BookingRowsError as exc:
            return _refuse_rows(args.csv, exc.problems)
        except (ValueError, csv.Error) as exc:
            return _refuse(f"{args.csv}: {exc}")
    if args.treatment and args.provider:
        visit = Visit(args.treatment, args.provider, args.location, args.date)
        return _VisitsFile([_VisitRow(visit, args.survey, {})], ",", from_excel=False)
    print("feedback-bot invite: give --treatment and --provider, or --csv", file=sys.stderr)
    return 2


def _refuse_rows(path: Path | None, problems: list[str]) -> int:
    """Every problem of a booking file (or the one visit), a line each; nothing was created."""
    if path is None:
        return _refuse("; ".join(problems))
    print(f"feedback-bot: {path}: nothing was created; fix these rows:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return EXIT_CONFIG


def _read_visits(path: Path) -> _VisitsFile:
    """Every row of a visits CSV, checked before any invitation is created.

    As booking systems and spreadsheets write them: comma, semicolon or tab between fields;
    UTF-8 (with or without a BOM) or Windows-1252; headers in any case.
    """
    text, from_excel = _decode(path.read_bytes())
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = {(name or "").strip().casefold(): name for name in reader.fieldnames or []}
    missing = {"treatment", "provider"} - set(headers)
    if missing:
        raise ValueError(f"missing column(s): {', '.join(sorted(missing))}")
    rows, problems = [], []
    for number, row in enumerate(reader, start=2):
        cells = {key: (value or "").strip() for key, value in row.items() if key}
        fields = {
            canonical: cells.get(original or "", "") for canonical, original in headers.items()
        }
        if not fields["treatment"] or not fields["provider"]:
            problems.append(f"row {number}: treatment and provider are required")
            continue
        try:
            visit_date = date.fromisoformat(fields["date"]) if fields.get("date") else None
        except ValueError:
            problems.append(f"row {number}: {fields['date']!r} is not a date; use YYYY-MM-DD")
            continue
        visit = Visit(
            fields["treatment"], fields["provider"], fields.get("location") or None, visit_date
        )
        rows.append(_VisitRow(visit, fields.get("survey") or None, cells, number))
    if problems:
        raise _BookingRowsError(problems)
    if not rows:
        raise ValueError("no visits in the file")
    return _VisitsFile(rows, delimiter, from_excel=from_excel)


def _decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 (a BOM or not), else Windows-1252: what Excel saves as "CSV" on Windows.

    Also whether the file came from Excel (a BOM, or Windows-1252).
    """
    try:
        return data.decode("utf-8-sig"), data.startswith(codecs.BOM_UTF8)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), True


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel where the decimal mark is a comma) or tab, from the header."""
    header = text.split("\n", 1)[0]
    return max(",;\t", key=header.count)


async def _bot_username(settings: Settings) -> str:
    if settings.bot_username:
        return settings.bot_username
    # Asking Telegram needs the token; FEEDBACK_BOT_USERNAME avoids the call.
    async with Bot(settings.token(), base_url=str(settings.api_url)) as bot:
        return bot.username


def _row_problems(
    rows: list[_VisitRow], catalog: SurveyCatalog, service: InvitationService
) -> list[str]:
    """What would stop each row's invitation, naming the row (all rows, not the first)."""
    problems = []
    for row in rows:
        where = f"row {row.line}: " if row.line is not None else ""
        if row.survey and catalog.get(row.survey) is None:
            known = ", ".join(survey.id for survey in catalog.surveys)
            problems.append(f"{where}unknown survey {row.survey!r} (the surveys: {known})")
        try:
            service.treatment_id(row.visit.treatment or "")
        except UnknownTreatmentError as exc:
            problems.append(f"{where}{exc}")
    return problems


async def _invite(
    settings: Settings, catalog: SurveyCatalog, visits: _VisitsFile, args: argparse.Namespace
) -> int:
    rows = visits.rows
    username = await _bot_username(settings)
    database = await _open(settings)
    service = invitation_service(
        settings, SqliteResponseStore(database), catalog, clock_for(settings)
    )
    try:
        # Check every row first, so a bad row creates nothing.
        problems = _row_problems(rows, catalog, service)
        if problems:
            raise _BookingRowsError(problems)
        created = [(row, await service.create(row.visit, row.survey)) for row in rows]
    finally:
        await database.close()
    if args.csv is None:
        [(_, invitation)] = created
        link = invitation_link(username, invitation.code)
        print(link)
        print(f"single use, valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC")
        if args.qr is not None:
            write_qr(link, args.qr)
            print(f"QR code: {args.qr}")
        return 0
    if args.qr_dir is not None:
        args.qr_dir.mkdir(parents=True, exist_ok=True)
    # The links file as the booking file was written: Excel's gets its separator and a BOM.
    encoding = "utf-8-sig" if visits.from_excel else "utf-8"
    out = args.out.open("w", encoding=encoding, newline="") if args.out else sys.stdout
    try:
        columns = [*rows[0].fields, "link", "expires_at", "qr_file"]
        writer = csv.DictWriter(
            out, fieldnames=columns, extrasaction="ignore", delimiter=visits.delimiter
        )
        writer.writeheader()
        for number, (row, invitation) in enumerate(created, start=1):
            link = invitation_link(username, invitation.code)
            qr_file = ""
            if args.qr_dir is not None:
                qr_path = args.qr_dir / f"visit-{number:03d}.png"
                write_qr(link, qr_path)
                qr_file = str(qr_path)
            writer.writerow(
                row.fields
                | {
                    "link": link,
                    "expires_at": invitation.expires_at.isoformat(),
                    "qr_file": qr_file,
                }
            )
    finally:
        if args.out:
            out.close()
    return 0


def _demo_command(settings: Settings, args: argparse.Namespace) -> int:
    catalog = _catalog(settings)
    if catalog is None:
        return EXIT_CONFIG
    if args.survey is not None and catalog.get(args.survey) is None:
        ids = ", ".join(survey.id for survey in catalog.surveys)
        return _refuse(f"--survey: no survey {args.survey!r}; the file has {ids}")
    if args.lang not in CATALOGUES:
        languages = ", ".join(CATALOGUES)
        return _refuse(f"--lang: the bot speaks {languages}, not {args.lang!r}")
    # The demo's own bot logs would drown the conversation; only problems are shown.
    configure_logging("WARNING", [])
    asyncio.run(run_demo(settings, catalog, language=args.lang, survey_id=args.survey, db=args.db))
    return 0
