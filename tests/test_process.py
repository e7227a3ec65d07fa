"""What only a real process shows: crash, restart, and what it writes to its log."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.domain.models import ResponseStatus
from storage.database import Database
from storage.responses import SqliteResponseStore
from tests.fake_telegram import FakeTelegram
from tests.harness import STAFF_CHAT, free_port
from tests.storage_view import stored_responses

pytestmark = pytest.mark.process

COMMENT = "Still swollen and a bit lumpy, but the nurse was kind"


def feedback_bot() -> str:
    """The installed console command, next to this interpreter (as in a venv) or on PATH."""
    beside = Path(sys.executable).parent / "feedback-bot"
    found = str(beside) if beside.exists() else shutil.which("feedback-bot")
    assert found, "feedback-bot is not installed: run pip install -e '.[test]'"
    return found


def bot_environment(telegram: FakeTelegram, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")}
    env |= {
        "FEEDBACK_BOT_TOKEN": telegram.token,
        "FEEDBACK_API_URL": telegram.api_url,
        "FEEDBACK_DB": str(db),
        "FEEDBACK_STAFF_CHAT": str(STAFF_CHAT),
        "FEEDBACK_ADMINS": "777",
    }
    return env


@asynccontextmanager
async def bot_process(
    telegram: FakeTelegram, tmp_path: Path, log: Path, **settings: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            feedback_bot(),
            "run",
            env=bot_environment(telegram, tmp_path / "feedback.db") | settings,
            cwd=tmp_path,  # away from any .env in the repository
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def wait_for_log(process: asyncio.subprocess.Process, log: Path, text: str) -> None:
    """Until the bot's log says `text` (the bot must still be running)."""
    async with asyncio.timeout(60):
        while text not in read_log(log):
            assert process.returncode is None, read_log(log)
            await asyncio.sleep(0.05)


def read_log(log: Path) -> str:
    """What the bot has written so far (nothing before it opened the file)."""
    return log.read_text() if log.exists() else ""


async def stop_timed(process: asyncio.subprocess.Process, stop_signal: signal.Signals) -> float:
    """Send `stop_signal`; the seconds until the process has ended."""
    sent = time.monotonic()
    process.send_signal(stop_signal)
    await asyncio.wait_for(process.wait(), 30)
    return time.monotonic() - sent


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM])
async def test_a_restart_mid_survey_loses_nothing(
    telegram: FakeTelegram, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    log = tmp_path / "bot.log"
    patient = telegram.patient(4242)
    async with bot_process(telegram, tmp_path, log) as process:
        await patient.send("/start")
        await patient.next_message(timeout=60)  # the first start-up imports everything
        await patient.tap("I agree")
        await patient.next_message()
        await patient.tap("Dermal filler")
        await patient.next_message()
        await patient.tap("2")
        second_question = await patient.next_message()
        assert second_question.text.startswith("Question 2 of 3")
        process.send_signal(stop_signal)
        await asyncio.wait_for(process.wait(), 30)

    # While the bot is down the patient taps the question it sent before the restart.
    waiting = asyncio.create_task(patient.tap("6", second_question))
    async with bot_process(telegram, tmp_path, log):
        await asyncio.wait_for(waiting, 60)
        assert (await patient.next_message(timeout=60)).text.startswith("Question 3 of 3")
        await patient.send(COMMENT)
        assert "Thank you" in (await patient.next_message()).text
        await telegram.wait_for(
            lambda: any(COMMENT[:10] in m.text for m in telegram.messages_to(STAFF_CHAT))
        )

    [response] = await stored_responses(tmp_path / "feedback.db")
    assert response.status is ResponseStatus.COMPLETED
    assert response.values == {"csat": 2, "nps": 6, "comment": COMMENT}

    output = log.read_text()
    assert "Application started" in output  # the log is there, so its absence checks mean it
    assert telegram.token not in output
    assert telegram.token.split(":")[1] not in output
    assert "swollen" not in output


async def test_a_tap_received_just_before_a_kill_is_handled_after_the_restart(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    slow, other = telegram.patient(4301), telegram.patient(4302)
    async with bot_process(telegram, tmp_path, log) as process:
        for patient in (slow, other):
            await patient.send("/start")
            await patient.next_message(timeout=60)
            await patient.tap("I agree")
            await patient.next_message()
            await patient.tap("Dermal filler")
            await patient.next_message()
        # Telegram is slow to answer the bot's next message to `slow`: the bot is busy...
        telegram.answer_late("sendMessage", 6, chat_id=4301)
        await slow.tap("3")
        await telegram.wait_for(lambda: telegram.calls[-1].params.get("chat_id") == 4301)
        # ...when `other` taps. The bot fetches the tap and tells Telegram it has it.
        tap = await other.tap("4")
        await telegram.wait_for(lambda: telegram.confirmed(tap))
        process.kill()
        await process.wait()
    async with bot_process(telegram, tmp_path, log):
        assert (await other.next_message(timeout=60)).text.startswith("Question 2 of 3")
    responses = {r.values.get("csat") for r in await stored_responses(tmp_path / "feedback.db")}
    assert responses == {3, 4}


async def test_a_rejected_token_or_unreachable_telegram_is_one_clear_line(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    wrong = "123456:WrongTokenWrongTokenWrongToken"
    rejected, unreachable = tmp_path / "rejected.log", tmp_path / "unreachable.log"
    async with bot_process(telegram, tmp_path, rejected, FEEDBACK_BOT_TOKEN=wrong) as process:
        # 78: fix the configuration (systemd's RestartPreventExitStatus=78 stops retrying).
        assert await asyncio.wait_for(process.wait(), 60) == 78
    closed_port = {"FEEDBACK_API_URL": "http://127.0.0.1:9/bot"}
    waits = {"FEEDBACK_STARTUP_WAIT_SECONDS": "4"}
    async with bot_process(telegram, tmp_path, unreachable, **closed_port, **waits) as process:
        assert await asyncio.wait_for(process.wait(), 60) == 1
    assert rejected.read_text().strip().splitlines() == [
        "feedback-bot: Telegram rejected the bot token; check FEEDBACK_BOT_TOKEN (from @BotFather)"
    ]
    lines = unreachable.read_text().strip().splitlines()
    # One line a try (after 1 s, then 2 s), then one saying why it gave up.
    assert [line.split(" WARNING ", 1)[-1] for line in lines[:-1]] == [
        "bot.app: cannot reach Telegram (connection refused); trying again in 1 s (attempt 1)",
        "bot.app: cannot reach Telegram (connection refused); trying again in 2 s (attempt 2)",
    ]
    assert lines[-1].startswith("feedback-bot: cannot reach Telegram at FEEDBACK_API_URL")
    for log in (rejected, unreachable):
        assert "Traceback" not in log.read_text()
        assert "WrongToken" not in log.read_text()


async def test_a_bot_started_before_the_network_waits_for_telegram_then_serves(
    tmp_path: Path,
) -> None:
    log = tmp_path / "bot.log"
    telegram = FakeTelegram()
    port = free_port()
    later = {"FEEDBACK_API_URL": f"http://127.0.0.1:{port}/bot"}
    async with bot_process(telegram, tmp_path, log, **later) as process:
        await wait_for_log(process, log, "trying again")
        await telegram.start(port)  # the network is up
        try:
            patient = telegram.patient(4343)
            await patient.send("/start")
            assert "Nothing is stored" in (await patient.next_message(timeout=60)).text
        finally:
            await telegram.stop()
    assert "started as @clinic_feedback_bot" in log.read_text()


async def test_a_database_that_cannot_be_opened_is_one_clear_line(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    cases = {
        "missing": (tmp_path / "no-such-folder" / "feedback.db", "its folder does not exist"),
        "folder": (tmp_path, "that is a folder, not a file"),
    }
    for name, (path, reason) in cases.items():
        log = tmp_path / f"{name}.log"
        async with bot_process(telegram, tmp_path, log, FEEDBACK_DB=str(path)) as process:
            assert await asyncio.wait_for(process.wait(), 60) == 1
        last = log.read_text().strip().splitlines()[-1]
        assert last == (
            f"feedback-bot: cannot open the database {path}: {reason}; check FEEDBACK_DB"
        )
        assert "Traceback" not in log.read_text()


async def test_the_start_up_line_says_who_the_bot_is_and_how_it_runs(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    async with bot_process(telegram, tmp_path, log) as process:
        await wait_for_log(process, log, "started as")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    [line] = [line for line in log.read_text().splitlines() if "started as" in line]
    assert line.endswith(
        f"started as @clinic_feedback_bot · database {tmp_path / 'feedback.db'} · "
        "staff chat set · surveys built-in · long polling"
    )


async def test_sigterm_mid_burst_finishes_what_it_started_and_loses_nothing(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    patients = [telegram.patient(5300 + n) for n in range(30)]
    async with bot_process(telegram, tmp_path, log) as process:
        for patient in patients:
            await patient.send("/start")
        for patient in patients:
            await patient.next_message(timeout=60)
            await patient.tap("I agree", wait=False)
        for patient in patients:
            await patient.next_message(timeout=30)  # which treatment?
        # Telegram is slow now; thirty taps arrive together and SIGTERM follows at once.
        telegram.call_delay = 0.2
        taps = [await patient.tap("Dermal filler", wait=False) for patient in patients]
        await telegram.wait_for(lambda: any(telegram.confirmed(tap) for tap in taps))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    # Acknowledged (the spinner stopped): the patient saw the bot take the answer.
    acknowledged = [
        patient.chat_id
        for patient, tap in zip(patients, taps, strict=True)
        if tap["callback_query"]["id"] in telegram.callback_answers
    ]
    # Every tap the bot answered is stored: a stop never cuts a step in half.
    assert await with_treatment(tmp_path / "feedback.db", acknowledged) == acknowledged
    assert "stopping: finishing the updates being handled" in log.read_text()
    # What was received and not yet started waited in the inbox (a stop does not work
    # through a backlog): it is handled at the next start, and nothing is lost.
    telegram.call_delay = 0
    async with bot_process(telegram, tmp_path, log):
        await telegram.wait_for(
            lambda: all(
                any(m.text.startswith("Question 1") for m in telegram.messages_to(p.chat_id))
                for p in patients
            ),
            timeout=60,
        )
    everyone = [patient.chat_id for patient in patients]
    assert await with_treatment(tmp_path / "feedback.db", everyone) == everyone


async def with_treatment(db: Path, chat_ids: list[int]) -> list[int]:
    """Which of these patients have their treatment stored."""
    database = await Database.open(db)
    try:
        store = SqliteResponseStore(database)
        stored = []
        for chat_id in chat_ids:
            patient = await store.get_patient(chat_id)
            response = None if patient is None else await store.open_response(patient.id)
            if response is not None and response.visit is not None:
                stored.append(chat_id)
        return stored
    finally:
        await database.close()


async def test_with_a_webhook_url_feedback_bot_run_serves_the_webhook(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    telegram.webhook_listen = listen
    hook = {
        "FEEDBACK_WEBHOOK_URL": "https://feedback.example-clinic.org/tg",
        "FEEDBACK_WEBHOOK_SECRET": "0123456789abcdef0123456789abcdef",
        "FEEDBACK_WEBHOOK_LISTEN": listen,
    }
    log = tmp_path / "bot.log"
    patient = telegram.patient(5400)
    async with bot_process(telegram, tmp_path, log, **hook) as process:
        await patient.send("/start")
        consent = await patient.next_message(timeout=60)
        assert "Nothing is stored until you tap" in consent.text
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert telegram.webhook is not None
    assert telegram.webhook["url"] == "https://feedback.example-clinic.org/tg"
    assert "· webhook https://feedback.example-clinic.org/tg" in log.read_text()
    assert "0123456789abcdef" not in log.read_text()


async def test_a_webhook_address_already_taken_is_one_clear_line(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        hook = {
            "FEEDBACK_WEBHOOK_URL": "https://feedback.example-clinic.org/tg",
            "FEEDBACK_WEBHOOK_SECRET": "0123456789abcdef0123456789abcdef",
            "FEEDBACK_WEBHOOK_LISTEN": listen,
        }
        log = tmp_path / "bot.log"
        async with bot_process(telegram, tmp_path, log, **hook) as process:
            assert await asyncio.wait_for(process.wait(), 60) == 1
    output = log.read_text()
    assert f"feedback-bot: cannot listen on FEEDBACK_WEBHOOK_LISTEN={listen}" in output
    assert "Traceback" not in output


async def test_an_intake_api_address_already_taken_is_one_clear_line(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        api = {"FEEDBACK_API_TOKENS": "t" * 40, "FEEDBACK_HTTP_LISTEN": listen}
        log = tmp_path / "bot.log"
        async with bot_process(telegram, tmp_path, log, **api) as process:
            assert await asyncio.wait_for(process.wait(), 60) == 1
    output = log.read_text()
    assert f"feedback-bot: cannot listen on FEEDBACK_HTTP_LISTEN={listen}" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("stop_signal", "status"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
async def test_a_stop_while_waiting_for_telegram_ends_the_bot_at_once(
    telegram: FakeTelegram, tmp_path: Path, stop_signal: signal.Signals, status: int
) -> None:
    log = tmp_path / "bot.log"
    unreachable = {
        "FEEDBACK_API_URL": f"http://127.0.0.1:{free_port()}/bot",
        "FEEDBACK_STARTUP_WAIT_SECONDS": "120",
    }
    async with bot_process(telegram, tmp_path, log, **unreachable) as process:
        await wait_for_log(process, log, "trying again")
        seconds = await stop_timed(process, stop_signal)
    assert process.returncode == status
    assert seconds < 2, f"took {seconds:.1f} s to stop"
    output = log.read_text()
    assert output.splitlines()[-1] == (
        f"feedback-bot: stopped by {stop_signal.name} before start-up finished"
    )
    assert "Traceback" not in output


async def seed_answers(db: Path, responses: int) -> None:
    """A database of `responses` completed surveys whose daily totals were never built."""
    database = await Database.open(db)
    await database.close()
    started = "2026-01-01T10:00:00.000000+00:00"
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO patients (id, external_id, pseudonym, consented_at) VALUES (?, ?, ?, ?)",
            ((n, n, f"P-{n:08d}", started) for n in range(responses)),
        )
        connection.executemany(
            "INSERT INTO responses (id, patient_id, survey_id, status, started_at)"
            " VALUES (?, ?, 'post_visit', 'completed', ?)",
            ((f"r{n}", n, started) for n in range(responses)),
        )
        connection.executemany(
            "INSERT INTO answers (response_id, question_id, value_kind, value_int, answered_at)"
            " VALUES (?, ?, 'int', ?, ?)",
            (
                (f"r{n}", question, n % top + 1, started)
                for n in range(responses)
                for question, top in (("csat", 5), ("nps", 10))
            ),
        )
        # As after the upgrade that added the totals: none built yet.
        connection.execute("DELETE FROM report_basis")
    connection.close()


async def test_a_stop_while_the_daily_totals_are_built_ends_at_once_and_keeps_every_answer(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    db, log = tmp_path / "feedback.db", tmp_path / "bot.log"
    await seed_answers(db, 200_000)
    async with bot_process(telegram, tmp_path, log) as process:
        await wait_for_log(process, log, "building the daily totals")
        seconds = await stop_timed(process, signal.SIGTERM)
    assert process.returncode == 0
    assert seconds < 2, f"took {seconds:.1f} s to stop"
    output = log.read_text()
    assert output.splitlines()[-1] == "feedback-bot: stopped by SIGTERM before start-up finished"
    assert "built the daily totals" not in output
    assert "Traceback" not in output
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM answers").fetchone() == (400_000,)
        # Nothing half-built counts as built: the next start builds them again.
        assert connection.execute("SELECT count(*) FROM report_basis").fetchone() == (0,)
    connection.close()
