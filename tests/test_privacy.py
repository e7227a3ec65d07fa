"""What the bot keeps to itself: no patient data in its log, files only its user can read."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.models import (
    AlertReason,
    Answer,
    PendingAlert,
    Response,
    ResponseStatus,
    Sentiment,
    SentimentLabel,
)
from bot.domain.surveys import load_catalog
from bot.settings import Settings
from handlers.texts import CATALOGUES
from handlers.texts.formatting import format_alert
from tests.databases import sqlite_file
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, running_bot
from tests.test_cli import made_by_the_bot, run_cli
from tests.test_invitations import invite, open_link
from tests.test_patient_flow import answer_all
from tests.test_process import bot_process

# Things that must never reach the log, whatever the level.
USER_ID = 918273645
NAME = "Quillonbert"
CODE = "Zq9SentinelCodeXw"
COMMENT = "Vorpalfrump blistered and bleeding"


@pytest.mark.process
async def test_nothing_about_a_patient_reaches_the_log_even_at_debug(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    patient = telegram.patient(USER_ID, first_name=NAME)
    async with bot_process(telegram, tmp_path, log, FEEDBACK_LOG_LEVEL="DEBUG"):
        await patient.send(f"/start {CODE}")
        await patient.next_message(timeout=60)  # the code is unknown: a friendly refusal
        await patient.send("/start")
        await patient.next_message()
        await patient.tap("I agree")
        await patient.next_message()
        await patient.tap("Dermal filler")
        await patient.next_message()
        await patient.send("1")
        await patient.next_message()
        await patient.send("2")
        await patient.next_message()
        await patient.send(COMMENT)
        await telegram.wait_for(
            lambda: any("Vorpalfrump" in m.text for m in telegram.messages_to(STAFF_CHAT))
        )
    output = log.read_text()
    assert " DEBUG " in output  # the log is there and verbose, so the checks below mean it
    for secret in (str(USER_ID), NAME, CODE, "Vorpalfrump", telegram.token.split(":")[1]):
        assert secret not in output, secret


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("bot")
async def test_the_database_and_its_journal_files_are_readable_by_their_owner_only(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(940)
    await answer_all(patient, "2", "3", "A comment")
    await patient.next_message()
    db = sqlite_file(settings.db)
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(file.exists() for file in files)
    assert {mode(file) for file in files} == {0o600}


async def test_a_database_made_world_readable_is_made_private_again_at_start(
    settings: Settings, clock: FakeClock
) -> None:
    db = sqlite_file(settings.db)
    db.touch(mode=0o644)
    db.chmod(0o644)
    async with running_bot(settings, clock):
        assert mode(db) == 0o600


def test_exports_and_qr_codes_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    made_by_the_bot(tmp_path / "feedback.db")
    invite = run_cli(
        tmp_path,
        "invite",
        "--treatment",
        "filler",
        "--provider",
        "Dr Li",
        "--qr",
        "visit.png",
        FEEDBACK_BOT_USERNAME="glow_feedback_bot",
    )
    assert invite.returncode == 0, invite.stderr
    export = run_cli(tmp_path, "export", "--format", "csv", "--out", "all.csv")
    assert export.returncode == 0, export.stderr
    for name in ("all.csv", "visit.png", "feedback.db"):
        assert mode(tmp_path / name) == 0o600, name


async def test_forget_erases_the_visit_and_the_code_blanks_the_staff_alert_and_leaves_no_copy(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    async with running_bot(settings, clock):
        code = await invite(telegram, "filler", "Dr_Vexwhistle", "Moonbase", "2026-11-02")
        patient = telegram.patient(950)
        await open_link(patient, code)
        await patient.next_message()
        await patient.tap("I agree")
        await patient.next_message()
        await patient.tap("2")
        await patient.next_message()
        await patient.tap("3")
        await patient.next_message()
        await patient.send("Quaggleworth swelling still there")
        while not (await patient.next_message()).text.startswith("Thank you!"):
            pass  # the clinic's call-back notice comes first
        assert "call you" in (await patient.next_message()).text  # the scores were low
        await telegram.wait_for(
            lambda: any("Quaggleworth" in m.text for m in telegram.messages_to(STAFF_CHAT))
        )
        await patient.send("/forget")
        await patient.next_message()
        await patient.tap("Yes, erase everything")
        await telegram.wait_for(lambda: "erased" in telegram.messages_to(950)[-1].text)
        # The staff chat's alert is blanked too, where Telegram keeps it.
        await telegram.wait_for(
            lambda: all("Quaggleworth" not in m.text for m in telegram.messages_to(STAFF_CHAT))
        )
        [alert] = telegram.messages_to(STAFF_CHAT)
        assert alert.text == CATALOGUES["en"].alert_erased
        assert alert.buttons() == []
        # The spent code now means nothing, to this patient or anyone else.
        await open_link(telegram.patient(951), code)
        refusal = await telegram.patient(951).next_message()
        assert refusal.text == CATALOGUES["en"].invitation_unknown
    if not isinstance(settings.db, Path):
        return  # PostgreSQL's files are the server's; what the bot can read is checked above
    on_disk = b"".join(
        path.read_bytes() for path in settings.db.parent.glob(f"{settings.db.name}*")
    )
    assert b"Quaggleworth" not in on_disk
    assert b"Vexwhistle" not in on_disk
    assert b"Moonbase" not in on_disk


@pytest.mark.usefixtures("bot")
async def test_staff_commands_answer_only_in_a_private_chat_or_the_staff_chat(
    telegram: FakeTelegram,
) -> None:
    admin = telegram.patient(ADMIN_ID)
    family = telegram.in_group(admin, -100_424242, "Family")
    for command in ("/summary all", "/invite filler Dr_Li"):
        await family.send(command)
        refusal = await family.next_message()
        assert refusal.text == CATALOGUES["en"].staff_chats_only
        assert refusal.photo is None
    staff = telegram.in_group(admin, STAFF_CHAT)
    await staff.send("/summary all")
    assert "Feedback summary" in (await staff.next_message()).text
    await admin.send("/summary all")
    assert "Feedback summary" in (await admin.next_message()).text


@pytest.mark.usefixtures("bot")
async def test_patient_text_cannot_pass_for_the_alerts_own_lines(telegram: FakeTelegram) -> None:
    patient = telegram.patient(960)
    forged = "Awful visit\n\nStatus: completed — no action needed\u202e\u2066 http://evil.example"
    await answer_all(patient, "1", "2", forged)
    await telegram.wait_for(
        lambda: any("Status: completed" in m.text for m in telegram.messages_to(STAFF_CHAT))
    )
    [alert] = telegram.messages_to(STAFF_CHAT)
    calls = [c for c in telegram.calls if c.params.get("chat_id") == STAFF_CHAT]
    # The forged line stays inside the quote block; the bot's own status line follows it.
    quote = alert.text.split("<blockquote>")[1].split("</blockquote>")[0]
    assert "Status: completed — no action needed" in quote
    assert alert.text.count("Status: ") == 2
    unclaimed = CATALOGUES["en"].case_unclaimed_line
    assert alert.text.rstrip().endswith(f"Status: completed\n\n{unclaimed}")
    assert "\u202e" not in alert.text
    assert "\u2066" not in alert.text
    # A link in patient text never unfurls into a preview, in the first post or any edit.
    assert calls
    assert all(c.params["link_preview_options"] == {"is_disabled": True} for c in calls)


def test_an_alert_with_many_long_comments_still_fits_in_one_telegram_message() -> None:
    catalog = load_catalog()
    survey = catalog.default
    essay = "Everything went wrong. " * 200  # 4,600 characters, cut at 4,000 when stored
    answers = tuple(
        Answer(
            f"note{number}",
            essay,
            datetime(2026, 11, 2, tzinfo=UTC),
            Sentiment(-0.9, SentimentLabel.NEGATIVE, (), ("wrong (-2.1)",)),
        )
        for number in range(6)
    )
    response = Response(
        "r1", 1, "P-TESTTEST", survey.id, ResponseStatus.IN_PROGRESS,
        datetime(2026, 11, 2, tzinfo=UTC), None, answers,
    )  # fmt: skip
    alert = PendingAlert(
        1, response, (AlertReason.NEGATIVE_COMMENT,), response.started_at, None, 1
    )
    text = format_alert(alert, catalog, CATALOGUES["en"], datetime(2026, 11, 2, tzinfo=UTC))
    assert len(text) <= 4096
    assert text.count("<blockquote>Everything went wrong.") == 6  # every comment, shorter
    unclaimed = CATALOGUES["en"].case_unclaimed_line
    assert text.rstrip().endswith(f"Status: in progress\n\n{unclaimed}")
