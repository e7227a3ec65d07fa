"""The audit trail: every staff look at patients' data and every case action, once, chained.

Entries say who, what and to what (a pseudonym, a case number, a period, counts), never
what a patient or staff member wrote; `feedback-bot audit verify` finds an entry changed,
deleted or inserted by hand.
"""

from __future__ import annotations

import asyncio
import csv
import getpass
import hashlib
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete

from bot.domain.audit import AuditEntry, StoredEntry
from bot.services.audit import write_audit_csv
from bot.settings import Settings
from storage.audit import SqliteAuditTrail
from storage.database import Database
from storage.schema import audit_entries as audit_entries_table
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import ADMIN_ID, STAFF_CHAT, FakeClock, free_port, make_settings, running_bot
from tests.test_cases import EN, alert_when, staff, staff_message_when
from tests.test_cli import made_by_the_bot, populate, run_cli
from tests.test_intake_api import TOKEN, VISIT, post, visits_url
from tests.test_patient_flow import answer_all

COMMENT = "Still swollen and lumpy"
REPLY = "So sorry, could you come in Thursday"
NOTE = "Touch-up booked"


async def audit_entries(settings: Settings, count: int) -> list[StoredEntry]:
    """The trail's entries, once there are `count` (a case action's is written after the
    alert's edit the test waits for)."""
    database = await Database.open(settings.db)
    try:
        trail = SqliteAuditTrail(database)
        for _ in range(200):
            entries = await trail.entries()
            if len(entries) >= count:
                return entries
            await asyncio.sleep(0.05)
        return await trail.entries()
    finally:
        await database.close()


@pytest.mark.usefixtures("bot")
async def test_each_staff_look_and_case_action_leaves_one_entry_without_anyones_words(
    telegram: FakeTelegram, settings: Settings
) -> None:
    patient = telegram.patient(501)
    await answer_all(patient, "1", "2", COMMENT)
    anna = staff(telegram)
    alert = await alert_when(telegram, lambda text: "Status: completed" in text)
    await anna.tap(EN.case_claim, alert)
    await alert_when(telegram, lambda text: "Taken by Anna" in text)
    await anna.tap(EN.case_reply, alert)
    prompt = await staff_message_when(telegram, lambda m: "write your reply" in m.text)
    await anna.send(REPLY, reply_to=prompt)
    await staff_message_when(telegram, lambda m: m.text.startswith("✓ On its way to P-"))
    await anna.tap(EN.case_resolve, alert)
    note_prompt = await staff_message_when(telegram, lambda m: "one-line note" in m.text)
    await anna.send(NOTE, reply_to=note_prompt)
    await alert_when(telegram, lambda text: NOTE in text)
    admin = telegram.patient(ADMIN_ID)
    for command in ("/summary", "/cases", "/trend", "/export"):
        await admin.send(command)
        await admin.next_message()

    entries = await audit_entries(settings, 8)
    assert [(e.entry.actor, e.entry.action) for e in entries] == [
        (str(ADMIN_ID), action)
        for action in ("claim", "reply", "resolve", "note", "summary", "cases", "trend", "export")
    ]
    pseudonym = entries[0].entry.subject.split()[-1]
    assert pseudonym.startswith("P-")
    assert all(pseudonym in e.entry.subject for e in entries[:4])
    assert entries[4].entry.detail == "period 30d"
    assert entries[7].entry.detail.endswith("1 rows")
    written = " ".join(f"{e.entry.subject} {e.entry.detail}" for e in entries).lower()
    for words in (COMMENT, REPLY, NOTE):
        assert not {word.lower() for word in words.split() if len(word) > 3} & set(written.split())


@pytest.mark.usefixtures("bot")
async def test_a_report_telegram_could_not_deliver_is_in_the_trail_all_the_same(
    telegram: FakeTelegram, settings: Settings
) -> None:
    admin = telegram.patient(ADMIN_ID)
    telegram.fail_next(
        "sendMessage", Fault(403, "Forbidden: bot was blocked by the user", chat_id=ADMIN_ID)
    )
    await admin.send("/summary")

    entries = await audit_entries(settings, 1)
    assert [(e.entry.actor, e.entry.action) for e in entries] == [(str(ADMIN_ID), "summary")]
    assert not [m for m in telegram.messages_to(ADMIN_ID) if "CSAT" in m.text]


def test_the_command_line_is_audited_and_verify_finds_any_entry_changed_deleted_or_inserted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "feedback.db"
    made_by_the_bot(db)
    asyncio.run(populate(db))
    assert run_cli(tmp_path, "summary", "--period", "all").returncode == 0
    assert run_cli(tmp_path, "export", "--format", "csv", "--out", "all.csv").returncode == 0
    assert run_cli(tmp_path, "backup", str(tmp_path / "backups" / "one.db")).returncode == 0

    listed = run_cli(tmp_path, "audit", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    who = f"command line ({getpass.getuser()})"
    assert [(row["actor"], row["action"]) for row in rows] == [
        (who, "summary"),
        (who, "export"),
        (who, "backup"),
    ]
    holds = run_cli(tmp_path, "audit", "verify")
    assert (holds.returncode, holds.stdout.split(":")[0]) == (0, "audit trail holds")
    assert "3 entries" in holds.stdout

    pristine = tmp_path / "pristine.db"
    shutil.copy(db, pristine)
    changes = {
        "changed": ("UPDATE audit_entries SET detail = 'period 7d' WHERE id = 1", 1),
        "deleted": ("DELETE FROM audit_entries WHERE id = 2", 3),
        "inserted": (
            (
                "INSERT INTO audit_entries (id, at, actor, action, subject, detail, hash)"
                " VALUES (0, '2026-01-01T00:00:00.000000+00:00', 'x', 'summary', '', '', 'x')"
            ),
            0,
        ),
    }
    for sql, first_broken in changes.values():
        shutil.copy(pristine, db)
        with sqlite3.connect(db) as connection:
            connection.execute(sql)
        connection.close()
        broken = run_cli(tmp_path, "audit", "verify")
        assert broken.returncode == 1
        assert f"broken at entry {first_broken}:" in broken.stderr


def listed(tmp_path: Path, settings: Settings) -> list[dict[str, str]]:
    """`feedback-bot audit --format csv`, read back."""
    result = run_cli(tmp_path, "audit", "--format", "csv", FEEDBACK_DB=str(settings.db))
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


async def test_intake_calls_are_audited_by_the_tokens_fingerprint_never_the_token(
    telegram: FakeTelegram, database_location: Path | str, clock: FakeClock
) -> None:
    settings = make_settings(
        telegram,
        database_location,
        api_tokens=(SecretStr(TOKEN),),
        http_listen=f"127.0.0.1:{free_port()}",
    )
    async with running_bot(settings, clock):
        assert (await post(visits_url(settings), VISIT))[0] == 201
        assert (await post(visits_url(settings), VISIT))[0] == 200  # sent again
        assert (await post(visits_url(settings), VISIT, "not-a-token-0123456789"))[0] == 401
        entries = await audit_entries(settings, 2)
    fingerprint = hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
    assert [(e.entry.actor, e.entry.action, e.entry.subject, e.entry.detail) for e in entries] == [
        (f"intake token {fingerprint}", "visit_received", "event appt-81723-done", detail)
        for detail in ("delivery none", "again, unchanged")
    ]
    written = " ".join(f"{e.entry.actor} {e.entry.subject} {e.entry.detail}" for e in entries)
    assert TOKEN not in written
    assert VISIT["patient"]["email"] not in written


async def test_forget_and_retention_are_counted_and_name_no_one(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    settings = settings.model_copy(update={"retention_days": 90})
    async with running_bot(settings, clock):
        await answer_all(telegram.patient(601), "5", "9", "Lovely")
        forgetting = telegram.patient(602)
        await answer_all(forgetting, "4", "8", None)
        await forgetting.send("/forget")
        await telegram.wait_for(
            lambda: "Yes, erase everything" in str(telegram.messages_to(602)[-1].reply_markup)
        )
        await forgetting.tap("Yes, erase everything")
        await telegram.wait_for(lambda: "has been erased" in telegram.messages_to(602)[-1].text)
    clock.advance(days=91)
    async with running_bot(settings, clock):  # retention runs at start
        entries = await audit_entries(settings, 2)
    assert [(e.entry.actor, e.entry.action, e.entry.detail) for e in entries[:2]] == [
        ("a patient", "forget", "1 patient erased"),
        ("retention", "retention", "1 responses older than 90 days erased"),
    ]
    assert all(e.entry.subject == "" for e in entries)
    written = " ".join(f"{e.entry.actor} {e.entry.subject} {e.entry.detail}" for e in entries)
    assert "601" not in written
    assert "602" not in written


async def no_head_owed(settings: Settings) -> None:
    """Once the bot has recorded that the head it posted arrived."""
    database = await Database.open(settings.db)
    try:
        for _ in range(200):
            if not await SqliteAuditTrail(database).owed_heads(None):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the head was never recorded as posted")
    finally:
        await database.close()


def heads_posted(telegram: FakeTelegram) -> list[str]:
    return [m.text for m in telegram.messages_to(STAFF_CHAT) if "Audit trail" in m.text]


async def test_the_trails_head_reaches_the_staff_chat_once_a_day_through_an_outage(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    admin = telegram.patient(ADMIN_ID)
    async with running_bot(settings, clock):
        await admin.send("/summary")
        await admin.next_message()
        await audit_entries(settings, 1)
    assert heads_posted(telegram) == []  # the trail was empty at start
    telegram.fail_next("sendMessage", Fault(502, "Bad Gateway", chat_id=STAFF_CHAT))
    async with running_bot(settings, clock):  # housekeeping at start owes today's head
        await asyncio.sleep(0.3)
        assert heads_posted(telegram) == []  # the staff chat refused it
        clock.advance(minutes=5)
        await telegram.wait_for(lambda: len(heads_posted(telegram)) == 1)
        await no_head_owed(settings)
    async with running_bot(settings, clock):  # the same day: not again
        await asyncio.sleep(0.3)
    [head] = heads_posted(telegram)
    [row] = listed(tmp_path, settings)
    assert f"entry {row['number']} has the hash\n<code>{row['hash']}</code>\n" in head
    clock.advance(days=1)
    async with running_bot(settings, clock):  # a day on, but nothing new: nothing to post
        await asyncio.sleep(0.3)
    assert len(heads_posted(telegram)) == 1
    async with running_bot(settings, clock):
        await admin.send("/cases")
        await admin.next_message()
        await audit_entries(settings, 2)
    clock.advance(days=1)
    async with running_bot(settings, clock):
        await telegram.wait_for(lambda: len(heads_posted(telegram)) == 2)
        await no_head_owed(settings)
    rows = listed(tmp_path, settings)
    assert rows[-1]["hash"] in heads_posted(telegram)[-1]


async def test_audit_sends_the_last_seven_days_as_csv_to_an_admin_in_private_only(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    admin = telegram.patient(ADMIN_ID)
    async with running_bot(settings, clock):
        await admin.send("/summary 7d")
        await admin.next_message()
        await audit_entries(settings, 1)
        clock.advance(days=8)
        await admin.send("/cases")
        await admin.next_message()
        in_group = telegram.in_group(admin, STAFF_CHAT)
        await in_group.send("/audit")
        assert "only in a private chat" in (await in_group.next_message()).text
        stranger = telegram.patient(73)
        await stranger.send("/audit")
        assert (await stranger.next_message()).text == EN.staff_only
        await admin.send("/audit")
        sent = await admin.next_message()
        entries = await audit_entries(settings, 3)
    assert sent.document is not None
    assert sent.filename == "audit-2026-11-10.csv"
    assert sent.text.startswith("Audit trail, last 7 days: 1 entries")
    [row] = list(csv.DictReader(io.StringIO(sent.document.decode("utf-8"))))
    assert (row["actor"], row["action"], row["detail"]) == (str(ADMIN_ID), "cases", "0 open")
    assert len(row["hash"]) == 64
    # Reading the trail is in the trail; the refused asks are not.
    assert [e.entry.action for e in entries] == ["summary", "cases", "audit_read"]


async def test_entries_past_their_keeping_are_removed_and_the_rest_still_verify(
    telegram: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"audit_retention_days": 30})
    admin = telegram.patient(ADMIN_ID)
    async with running_bot(settings, clock):
        for command in ("/summary", "/cases"):
            await admin.send(command)
            await admin.next_message()
        await audit_entries(settings, 2)
        clock.advance(days=20)
        await admin.send("/trend")
        await admin.next_message()
        await audit_entries(settings, 3)
    clock.advance(days=11)
    async with running_bot(settings, clock):  # housekeeping at start
        pass
    rows = listed(tmp_path, settings)
    assert [(row["actor"], row["action"]) for row in rows] == [
        (str(ADMIN_ID), "trend"),
        ("retention", "audit_pruned"),
    ]
    assert rows[1]["detail"] == "2 entries before 2026-11-03 removed"
    holds = run_cli(tmp_path, "audit", "verify", FEEDBACK_DB=str(settings.db))
    assert (holds.returncode, holds.stdout.split(":")[0]) == (0, "audit trail holds")
    assert "2 entries" in holds.stdout
    # The oldest kept entry removed by hand, not by retention: the chain says so.
    database = await Database.open(settings.db)
    try:
        async with database.transaction() as conn:
            oldest = audit_entries_table.c.id == int(rows[0]["number"])
            await conn.run(delete(audit_entries_table).where(oldest))
    finally:
        await database.close()
    broken = run_cli(tmp_path, "audit", "verify", FEEDBACK_DB=str(settings.db))
    assert broken.returncode == 1
    assert f"broken at entry {rows[1]['number']}:" in broken.stderr


def test_the_audit_csv_shows_a_name_that_starts_like_a_formula_as_text() -> None:
    entry = AuditEntry(
        FakeClock().now(), "777", "comments", "", 'console, provider =HYPERLINK("x")'
    )
    wrote = io.StringIO()
    write_audit_csv([StoredEntry(1, entry, "ab" * 32)], wrote)
    [row] = list(csv.DictReader(io.StringIO(wrote.getvalue())))
    assert row["detail"] == 'console, provider =HYPERLINK("x")'  # not at the start: harmless
    formula = AuditEntry(FakeClock().now(), "=cmd|' /C calc'!A0", "summary")
    wrote = io.StringIO()
    write_audit_csv([StoredEntry(2, formula, "cd" * 32)], wrote)
    [row] = list(csv.DictReader(io.StringIO(wrote.getvalue())))
    assert row["actor"] == "'=cmd|' /C calc'!A0"
