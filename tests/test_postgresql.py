"""PostgreSQL for a clinic chain: the same schema, moving a clinic over, locks across workers."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
from pathlib import Path

from sqlalchemy import text

from storage.copy import TABLES, row_counts
from storage.database import Database
from storage.schema import SQLITE_ONLY_TABLES
from tests.fake_telegram import FakeTelegram
from tests.harness import STAFF_CHAT, FakeClock, make_settings, running_bot
from tests.test_cli import run_cli
from tests.test_patient_flow import answer_all


async def _columns(database: Database) -> dict[str, set[tuple[str, bool]]]:
    """Each table's columns as (name, may be NULL)."""
    if database.postgresql:
        query = (
            "SELECT table_name, column_name, is_nullable = 'YES' FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
        )
    else:
        query = (
            'SELECT m.name, c.name, NOT c."notnull" AND NOT c.pk FROM sqlite_master m'
            " JOIN pragma_table_info(m.name) c WHERE m.type = 'table'"
            " AND m.name NOT IN ('alembic_version', 'sqlite_sequence')"
        )
    found: dict[str, set[tuple[str, bool]]] = {}
    for table, column, nullable in await database.connection.rows(text(query)):
        found.setdefault(table, set()).add((column, bool(nullable)))
    return found


async def test_both_backends_have_the_same_tables_and_columns(
    postgresql: str, tmp_path: Path
) -> None:
    sqlite = await Database.open(tmp_path / "feedback.db")
    shared = await Database.open(postgresql)
    try:
        on_sqlite, on_postgresql = await _columns(sqlite), await _columns(shared)
    finally:
        await sqlite.close()
        await shared.close()
    # PostgreSQL's one extra column stands in for SQLite's rowid (see the 0013 revision).
    on_postgresql["responses"].discard(("seq", False))
    # SQLite's search is its own tables; PostgreSQL's an index (see COMMENT_SEARCH).
    assert set(on_sqlite) >= SQLITE_ONLY_TABLES
    for table in SQLITE_ONLY_TABLES:
        del on_sqlite[table]
    assert on_postgresql == on_sqlite
    assert set(on_sqlite) == set(TABLES)  # and copy-db copies every one of them


async def _clinic_with_history(telegram: FakeTelegram, db: Path) -> None:
    """A SQLite clinic: a happy patient, an unhappy one with a case, a survey in progress."""
    async with running_bot(make_settings(telegram, db), FakeClock()):
        await answer_all(telegram.patient(61), "5", "10", "Lovely, natural result!")
        await answer_all(telegram.patient(62), "1", "2", "Still swollen and lumpy")
        await telegram.wait_for(lambda: len(telegram.messages_to(STAFF_CHAT)) >= 1)
        await telegram.patient(63).send("/start")
        await telegram.patient(63).next_message()


async def test_copy_db_moves_a_clinic_to_postgresql_and_the_bot_carries_on_there(
    telegram: FakeTelegram, tmp_path: Path, postgresql: str
) -> None:
    await _clinic_with_history(telegram, tmp_path / "feedback.db")
    before = run_cli(tmp_path, "export", "--format", "jsonl")

    result = run_cli(tmp_path, "copy-db", "--to", postgresql)

    assert result.returncode == 0, result.stderr
    assert "row counts match" in result.stdout
    assert "2 responses" in result.stdout or "3 responses" in result.stdout
    after = run_cli(tmp_path, "export", "--format", "jsonl", FEEDBACK_DB=postgresql)
    assert after.returncode == 0, after.stderr
    assert [json.loads(line) for line in after.stdout.splitlines()] == [
        json.loads(line) for line in before.stdout.splitlines()
    ]
    # The audit trail moved whole, and still verifies; the copy is its own entry there.
    trail = run_cli(tmp_path, "audit", "--format", "csv", FEEDBACK_DB=postgresql)
    who = f"command line ({getpass.getuser()})"
    actions = [(row["actor"], row["action"]) for row in csv.DictReader(io.StringIO(trail.stdout))]
    assert actions == [(who, "export"), (who, "copy_db"), (who, "export")]
    holds = run_cli(tmp_path, "audit", "verify", FEEDBACK_DB=postgresql)
    assert (holds.returncode, holds.stdout.split(":")[0]) == (0, "audit trail holds")
    # The bot runs on the copy: new rows are numbered after the copied ones.
    async with running_bot(make_settings(telegram, postgresql), FakeClock()):
        await answer_all(telegram.patient(64), "1", "1", "It hurts")
        await telegram.wait_for(lambda: len(telegram.messages_to(STAFF_CHAT)) >= 2)
    copied = await Database.open(postgresql)
    try:
        assert (await row_counts(copied))["alerts"] == 2
    finally:
        await copied.close()


async def test_copy_db_refuses_a_database_that_holds_data_and_copies_nothing(
    telegram: FakeTelegram, tmp_path: Path, postgresql: str
) -> None:
    await _clinic_with_history(telegram, tmp_path / "feedback.db")
    assert run_cli(tmp_path, "copy-db", "--to", postgresql).returncode == 0
    target = await Database.open(postgresql)
    try:
        counts = await row_counts(target)
    finally:
        await target.close()

    again = run_cli(tmp_path, "copy-db", "--to", postgresql)

    assert again.returncode != 0
    assert again.stderr.startswith("feedback-bot: the target database is not empty (")
    assert "nothing was copied" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    target = await Database.open(postgresql)
    try:
        assert await row_counts(target) == counts
    finally:
        await target.close()


def test_copy_db_wants_a_postgresql_address(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "copy-db", "--to", str(tmp_path / "other.db"))
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "feedback-bot: --to must be a postgresql://user@host/database address"
    )


async def test_one_persons_updates_wait_for_each_other_across_workers(postgresql: str) -> None:
    first, second = await Database.open(postgresql), await Database.open(postgresql)
    try:
        order: list[str] = []
        async with first.person_lock(4242):
            waiting = asyncio.create_task(_hold(second, 4242, order))
            other = asyncio.create_task(_hold(second, 4343, order))
            await asyncio.wait_for(other, 10)  # someone else's lane does not wait
            await asyncio.sleep(0.3)
            assert not waiting.done()
            order.append("first done")
        await asyncio.wait_for(waiting, 10)
        assert order == ["4343", "first done", "4242"]
    finally:
        await first.close()
        await second.close()


async def test_a_telegram_id_beyond_32_bits_is_locked_as_itself(postgresql: str) -> None:
    first, second = await Database.open(postgresql), await Database.open(postgresql)
    large = 7_123_456_789  # Telegram's ids outgrew 32 bits
    try:
        order: list[str] = []
        async with first.person_lock(large):
            waiting = asyncio.create_task(_hold(second, large, order))
            # The id it would be cut to in 32 bits is someone else, who does not wait.
            await asyncio.wait_for(_hold(second, large % 2**32, order), 10)
            await asyncio.sleep(0.3)
            assert not waiting.done()
        await asyncio.wait_for(waiting, 10)
        assert order == [str(large % 2**32), str(large)]
    finally:
        await first.close()
        await second.close()


async def _hold(database: Database, key: int, order: list[str]) -> None:
    async with database.person_lock(key):
        order.append(str(key))


async def test_one_worker_sends_and_another_takes_over_when_it_stops(postgresql: str) -> None:
    first, second = await Database.open(postgresql), await Database.open(postgresql)
    try:
        assert await first.dispatcher.leading()
        assert not await second.dispatcher.leading()
        assert await first.dispatcher.leading()  # it stays the one
        await first.close()  # as when a worker dies: its connection closes
        assert await second.dispatcher.leading()
    finally:
        await first.close()
        await second.close()


def test_copy_db_from_a_file_that_is_not_a_database_points_at_feedback_db(
    tmp_path: Path,
) -> None:
    (tmp_path / "feedback.db").write_text("my notes, not a database\n" * 100)
    result = run_cli(tmp_path, "copy-db", "--to", "postgresql://clinic@127.0.0.1:5999/feedback")
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert line.startswith("feedback-bot: cannot open the database ")
    assert line.endswith("; check FEEDBACK_DB")


def test_sslmode_in_the_address_is_honoured_as_libpq_does(tmp_path: Path, postgresql: str) -> None:
    # No CA certificate where libpq and asyncpg look for one: verify-full must refuse.
    home = {"HOME": str(tmp_path)}
    verified = run_cli(
        tmp_path, "summary", FEEDBACK_DB=f"{postgresql}?sslmode=verify-full", **home
    )
    assert verified.returncode == 1
    [line] = verified.stderr.strip().splitlines()
    assert "root certificate" in line
    assert line.endswith("; check FEEDBACK_DB")
    plain = run_cli(tmp_path, "summary", FEEDBACK_DB=f"{postgresql}?sslmode=disable", **home)
    assert plain.returncode == 0, plain.stderr
