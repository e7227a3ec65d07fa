"""The audit trail: every staff look at patients' data and every case action, once, chained.

Entries say who, what and to what (a pseudonym, a case number, a period, counts), never
what a patient or staff member wrote; `feedback-bot audit verify` finds an entry changed,
deleted or inserted by hand.
"""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.domain.audit import StoredEntry
from bot.settings import Settings
from storage.audit import SqliteAuditTrail
from storage.database import Database
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN_ID
from tests.test_cases import EN, alert_when, staff, staff_message_when
from tests.test_cli import made_by_the_bot, populate, run_cli
from tests.test_patient_flow import answer_all

COMMENT = "Still swollen and lumpy"
REPLY = "So sorry, could you come in Thursday"
NOTE = "Touch-up booked"


async def audit_entries(settings: Settings, count: int) -> list[StoredEntry]:
    """The trail's entries, once there are `count` (each is written after its reply)."""
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
